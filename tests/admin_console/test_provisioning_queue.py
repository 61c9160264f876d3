"""The console's provisioning queue: an account manager sees the network changes of their own
customers (waiting, in progress, failed with the reason), filters them, and sends a failed one
again through services.provisioning — a real worker then carries it out."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from integrations.network import SimulatedHLR
from models import AuditEvent, Line, ProvisioningRequest, RequestStatus, StaffRole
from services import ServiceError, provisioning
from services.audit import Actor
from tests.admin_console.test_customers import sign_in
from tests.conftest import csrf_token, login_console
from tests.factories import PASSWORD, make_customer, make_staff, make_unit
from tests.fleet_factories import make_line, make_tariff
from tests.workers.test_provisioning import run_worker

ACTOR = Actor("portal", None, "admin@klient.example")


def _request(db, line, service="roaming", on=True):
    return provisioning.request_change(
        db, ACTOR, line, "set_service", {"service": service, "on": on}, enqueue=False
    )


def _fail(db, rt, req):
    """Let the network simulator fail every attempt until the request gives up."""
    hlr = SimulatedHLR(rt.redis, failure_rate=1.0)
    for _ in range(provisioning.MAX_ATTEMPTS):
        claimed = provisioning.claim_next(db, req.line_id)
        assert claimed is not None and claimed.id == req.id
        if provisioning.carry_out(db, claimed, hlr) == "failed":
            break
        claimed.not_before = None  # the back-off time has passed
        db.flush()
    assert req.status == RequestStatus.failed
    return req


def _world(db):
    manager, other = make_staff(db), make_staff(db)
    mine = make_customer(db, name="Moja Firma", account_manager_id=manager.id)
    theirs = make_customer(db, name="Cudza Firma", account_manager_id=other.id)
    tariff = make_tariff(db)
    return (
        manager,
        make_line(db, mine, make_unit(db, mine), tariff),
        make_line(db, theirs, make_unit(db, theirs), tariff),
    )


def _retry(client, request_id: int):
    token = csrf_token(client.get("/admin/provisioning/").get_data(as_text=True))
    return client.post(f"/admin/provisioning/{request_id}/retry", data={"csrf_token": token})


def test_queue_shows_own_customers_requests_with_reason_and_filters(client, db, rt):
    manager, line, foreign_line = _world(db)
    failed = _fail(db, rt, _request(db, line))
    waiting = _request(db, line, "data", False)
    foreign = _fail(db, rt, _request(db, foreign_line))
    sign_in(client, manager)
    html = client.get("/admin/provisioning/").get_data(as_text=True)
    assert f'data-request="{failed.id}"' in html and f'data-request="{waiting.id}"' in html
    assert f'data-request="{foreign.id}"' not in html
    assert "network unavailable after 5 attempts" in html
    failed_only = client.get("/admin/provisioning/?status=failed").get_data(as_text=True)
    assert f'data-request="{failed.id}"' in failed_only
    assert f'data-request="{waiting.id}"' not in failed_only
    other_kind = client.get("/admin/provisioning/?action=suspend").get_data(as_text=True)
    assert f'data-request="{failed.id}"' not in other_kind
    assert client.get(f"/admin/provisioning/?customer_id={foreign.customer_id}").status_code == 404


def test_retry_is_scoped_and_needs_the_right_role(client, db, rt):
    manager, line, foreign_line = _world(db)
    foreign = _fail(db, rt, _request(db, foreign_line))
    sign_in(client, manager)
    assert _retry(client, foreign.id).status_code == 404
    db.refresh(foreign)
    assert foreign.status == RequestStatus.failed
    own = _fail(db, rt, _request(db, line))
    sales = make_staff(db, StaffRole.sales_admin)
    with client.application.test_client() as other:
        sign_in(other, sales)
        assert other.get("/admin/provisioning/").status_code == 200
        assert _retry(other, own.id).status_code == 403


def test_retry_refuses_what_it_should_not_redo(db, rt):
    _manager, line, _foreign = _world(db)
    staff = Actor("staff", None, "opiekun@test")
    waiting = _request(db, line, "data", False)
    with pytest.raises(ServiceError, match="Only a failed request"):
        provisioning.retry_failed(db, staff, waiting)
    waiting.status = RequestStatus.cancelled  # out of the way for the next case
    failed = _fail(db, rt, _request(db, line, "roaming", True))
    _request(db, line, "roaming", False)  # a later change of the same service
    with pytest.raises(ServiceError, match="requested again later"):
        provisioning.retry_failed(db, staff, failed)
    assert failed.status == RequestStatus.failed


@pytest.mark.worker
def test_retried_request_is_carried_out_by_a_real_worker(app, rt, committed, redis_clean):
    manager, line, _foreign = _world(committed)
    req = _fail(committed, rt, _request(committed, line, "roaming", True))
    ids = req.id, line.id
    manager_email = manager.email
    committed.commit()
    assert committed.get(Line, ids[1]).svc_roaming is False

    client = app.test_client()
    client.get("/admin/lang/en")
    assert login_console(client, manager_email, PASSWORD).status_code == 302
    r = _retry(client, ids[0])
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "sent to the network again" in page
    committed.rollback()
    committed.expire_all()
    assert committed.get(ProvisioningRequest, ids[0]).status == RequestStatus.acknowledged
    run_worker(committed)
    committed.expire_all()
    done = committed.get(ProvisioningRequest, ids[0])
    assert done.status == RequestStatus.completed and done.attempts == 1
    assert committed.get(Line, ids[1]).svc_roaming is True
    assert SimulatedHLR(rt.redis).applied_count(f"req-{ids[0]}") == 1
    retried = committed.scalar(
        select(AuditEvent).where(AuditEvent.action == "provisioning.set_service.retried")
    )
    assert retried.actor_label == manager_email
    assert "network unavailable" in retried.before["reason"]
