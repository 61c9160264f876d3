"""SQLAlchemy entities, one module per domain. Importing this package registers them all."""

from models.audit import AuditEvent
from models.base import Base
from models.catalog import Product, ProductKind, TariffPlan
from models.contracts import (
    CONTRACT_TRANSITIONS,
    Contract,
    ContractItem,
    ContractState,
    ContractVersion,
)
from models.customers import (
    AddressKind,
    Contact,
    ContactRole,
    Customer,
    CustomerAddress,
    CustomerNote,
    OrgUnit,
)
from models.fleet import (
    LINE_TRANSITIONS,
    Employee,
    Line,
    LineStatus,
    ProvisioningRequest,
    RequestStatus,
    Service,
)
from models.mail import MailStatus, MailTemplate, OutgoingMail
from models.orders import (
    ORDER_TRANSITIONS,
    Allocation,
    LineKind,
    NumberStatus,
    Order,
    OrderLine,
    OrderLineState,
    OrderState,
    PoolNumber,
)
from models.selfservice import (
    SELFSERVICE_TRANSITIONS,
    PolicyRule,
    RequestKind,
    ScheduledChange,
    ScheduleState,
    SelfServiceRequest,
    SelfServiceState,
)
from models.service_requests import (
    OPEN_STATES as SERVICE_REQUEST_OPEN_STATES,
)
from models.service_requests import (
    SERVICE_REQUEST_TRANSITIONS,
    ServiceRequest,
    ServiceRequestCategory,
    ServiceRequestNote,
    ServiceRequestState,
)
from models.stock import StockExpectation, StockLevel, StockReceipt, Warehouse
from models.tasks import BackgroundTask, TaskStatus
from models.users import LoginThrottle, PortalRole, PortalUser, StaffRole, StaffUser

__all__ = [
    "CONTRACT_TRANSITIONS",
    "LINE_TRANSITIONS",
    "ORDER_TRANSITIONS",
    "SELFSERVICE_TRANSITIONS",
    "SERVICE_REQUEST_OPEN_STATES",
    "SERVICE_REQUEST_TRANSITIONS",
    "AddressKind",
    "Allocation",
    "AuditEvent",
    "BackgroundTask",
    "Base",
    "Contact",
    "ContactRole",
    "Contract",
    "ContractItem",
    "ContractState",
    "ContractVersion",
    "Customer",
    "CustomerAddress",
    "CustomerNote",
    "Employee",
    "Line",
    "LineKind",
    "LineStatus",
    "LoginThrottle",
    "MailStatus",
    "MailTemplate",
    "NumberStatus",
    "Order",
    "OrderLine",
    "OrderLineState",
    "OrderState",
    "OrgUnit",
    "OutgoingMail",
    "PolicyRule",
    "PoolNumber",
    "PortalRole",
    "PortalUser",
    "Product",
    "ProductKind",
    "ProvisioningRequest",
    "RequestKind",
    "RequestStatus",
    "ScheduleState",
    "ScheduledChange",
    "SelfServiceRequest",
    "SelfServiceState",
    "Service",
    "ServiceRequest",
    "ServiceRequestCategory",
    "ServiceRequestNote",
    "ServiceRequestState",
    "StaffRole",
    "StaffUser",
    "StockExpectation",
    "StockLevel",
    "StockReceipt",
    "TariffPlan",
    "TaskStatus",
    "Warehouse",
]
