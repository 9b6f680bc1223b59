"""SQLAlchemy tables of the hotline, one module per aggregate."""
from models.audit import AuditEvent
from models.base import Base
from models.enterprise import Enterprise, EnterpriseNameChange
from models.enums import HELD_STATUSES, OPEN_STATUSES, WORKING_STATUSES, EventKind, RequestType, Role, TicketStatus, Urgency
from models.export import ExportJob
from models.import_job import ImportJob
from models.stats import StatDaily, StatDuration, StatDurationMonthly, StatMonthly, StatQueue, StatTicket
from models.routing import RoutingModel, RoutingSuggestion
from models.reference import Category, Chain, Channel, County, ReferenceVersion, Tier, Town, Unit
from models.notification import Notification, NotificationAttempt
from models.ticket import Ticket, TicketClock, TicketEvent, ticket_number_seq
from models.user import User

__all__ = [
    "AuditEvent", "Base", "Category", "Notification", "NotificationAttempt", "TicketClock", "Chain", "Channel", "County", "Enterprise", "EnterpriseNameChange", "EventKind", "ExportJob", "HELD_STATUSES", "ImportJob", "OPEN_STATUSES", "ReferenceVersion",
    "RequestType", "Role", "RoutingModel", "RoutingSuggestion", "Ticket", "TicketEvent", "TicketStatus", "Tier", "Town", "Unit", "Urgency", "User", "WORKING_STATUSES",
    "ticket_number_seq", "StatDaily", "StatDuration", "StatDurationMonthly", "StatMonthly", "StatQueue",
    "StatTicket",
]
