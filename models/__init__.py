"""SQLAlchemy entities, one module per domain. Importing this package registers them all."""

from models.audit import AuditEvent
from models.base import Base
from models.catalog import Product, ProductKind, TariffPlan
from models.customers import Customer, OrgUnit
from models.fleet import (
    LINE_TRANSITIONS,
    Employee,
    Line,
    LineStatus,
    ProvisioningRequest,
    RequestStatus,
    Service,
)
from models.mail import MailStatus, OutgoingMail
from models.tasks import BackgroundTask, TaskStatus
from models.users import LoginThrottle, PortalRole, PortalUser, StaffRole, StaffUser

__all__ = [
    "LINE_TRANSITIONS",
    "AuditEvent",
    "BackgroundTask",
    "Base",
    "Customer",
    "Employee",
    "Line",
    "LineStatus",
    "LoginThrottle",
    "MailStatus",
    "OrgUnit",
    "OutgoingMail",
    "PortalRole",
    "PortalUser",
    "Product",
    "ProductKind",
    "ProvisioningRequest",
    "RequestStatus",
    "Service",
    "StaffRole",
    "StaffUser",
    "TariffPlan",
    "TaskStatus",
]
