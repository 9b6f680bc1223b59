"""SQLAlchemy tables of the hotline, one module per aggregate."""
from models.audit import AuditEvent
from models.base import Base
from models.enterprise import Enterprise, EnterpriseContact, EnterpriseMerge, EnterpriseNameChange
from models.enums import ArticleKind, HELD_STATUSES, OPEN_STATUSES, WORKING_STATUSES, EventKind, RequestType, Role, TicketStatus, Urgency
from models.export import ExportJob
from models.import_job import ImportJob
from models.knowledge import KnowledgeArticle, KnowledgeArticleVersion, KnowledgePosting, KnowledgeTerm
from models.stats import StatDaily, StatDuration, StatDurationMonthly, StatMonthly, StatQueue, StatTicket
from models.routing import RoutingModel, RoutingSuggestion
from models.reference import Category, Chain, Channel, County, ReferenceVersion, Tier, Town, Unit
from models.notification import Notification, NotificationAttempt
from models.ticket import Ticket, TicketClock, TicketEvent, ticket_number_seq
from models.user import User

__all__ = [
    "ArticleKind", "AuditEvent", "Base", "Category", "Notification", "NotificationAttempt", "TicketClock", "Chain", "Channel", "County", "Enterprise", "EnterpriseContact", "EnterpriseMerge", "EnterpriseNameChange", "EventKind", "ExportJob", "HELD_STATUSES", "ImportJob", "OPEN_STATUSES", "ReferenceVersion",
    "RequestType", "Role", "RoutingModel", "RoutingSuggestion", "Ticket", "TicketEvent", "TicketStatus", "Tier", "Town", "Unit", "Urgency", "User", "WORKING_STATUSES",
    "ticket_number_seq", "StatDaily", "StatDuration", "StatDurationMonthly", "StatMonthly", "StatQueue",
    "StatTicket", "KnowledgeArticle", "KnowledgeArticleVersion", "KnowledgePosting", "KnowledgeTerm",
]
