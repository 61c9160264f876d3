"""The demo: every customer has its decision maker, fleet administrator and finance contact,
the account managers have mail templates that render, and some service requests are overdue."""

from __future__ import annotations

from sqlalchemy import select

from models import (
    Contact,
    ContactRole,
    Customer,
    MailTemplate,
    ProvisioningRequest,
    RequestStatus,
    ServiceRequest,
)
from models.base import utcnow
from services import mail_templates
from services.demo import load_demo

VALUES = {name: f"<{name}>" for name in mail_templates.PLACEHOLDERS}


def test_demo_has_contacts_templates_and_service_requests(db):
    load_demo(db, "Demo-2026!")
    for customer in db.scalars(select(Customer)):
        roles = set(db.scalars(select(Contact.role).where(Contact.customer_id == customer.id)))
        assert {ContactRole.decision_maker, ContactRole.fleet_admin, ContactRole.finance} <= roles
    templates = list(db.scalars(select(MailTemplate)))
    assert len(templates) >= 3
    for t in templates:
        mail_templates.check(t.subject, t.body)
        assert "<customer_name>" in mail_templates.render_subject(t.subject, VALUES) + (
            mail_templates.render(t.body, VALUES)
        )
    now = utcnow()
    requests = list(db.scalars(select(ServiceRequest)))
    assert any(r.is_overdue(now) for r in requests)
    assert any(r.is_open and not r.is_overdue(now) for r in requests)
    failed = db.scalar(
        select(ProvisioningRequest).where(ProvisioningRequest.status == RequestStatus.failed)
    )
    assert failed is not None and "refused by the network" in failed.last_error
