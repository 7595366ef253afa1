"""All models, importable from one place: ``from hpsmart.models import Report``."""
from .agency import Agency, AgencyKind
from .api import ApiClient
from .attachment import Attachment
from .audit import AppendOnlyError, ReportEvent
from .base import utcnow
from .category import Category
from .inbox import ReportViewer, SavedView
from .job import ExportJob, JobStage, JobState
from .outbox import OutboxMessage, OutboxState
from .place import AdministrativeUnit, UnitLevel
from .report import AWAITING_ANSWER, Channel, Report, ReportStatus, Urgency, report_co_agency
from .response import CannedAnswer, CitizenFeedback, Outcome, Response, ResponseState
from .tracking import TrackingCounter
from .user import Role, User

__all__ = [
    "AWAITING_ANSWER", "AdministrativeUnit", "Agency", "AgencyKind", "ApiClient", "AppendOnlyError", "Attachment", "CannedAnswer",
    "Category", "Channel", "CitizenFeedback", "ExportJob", "JobStage", "JobState", "Outcome", "OutboxMessage", "OutboxState", "Report",
    "ReportEvent", "ReportStatus", "ReportViewer", "Response", "ResponseState", "Role", "SavedView",
    "TrackingCounter", "UnitLevel", "Urgency", "User", "report_co_agency", "utcnow",
]
