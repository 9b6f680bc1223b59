"""The work console (/console) for operators, handlers and dispatchers, and the offline API docs (/docs)."""
from service.console.views import router

__all__ = ["router"]
