"""All models, importable from one place: ``from hpsmart.models import Report``."""
from .agency import Agency, AgencyKind
from .attachment import Attachment
from .audit import AppendOnlyError, ReportEvent
from .base import utcnow
from .category import Category
from .inbox import ReportViewer, SavedView
from .place import AdministrativeUnit, UnitLevel
from .report import Channel, Report, ReportStatus, Urgency, report_co_agency
from .tracking import TrackingCounter
from .user import Role, User

__all__ = [
    "AdministrativeUnit", "Agency", "AgencyKind", "AppendOnlyError", "Attachment", "Category",
    "Channel", "Report", "ReportEvent", "ReportStatus", "ReportViewer", "Role", "SavedView", "TrackingCounter", "UnitLevel",
    "Urgency", "User", "report_co_agency", "utcnow",
]
