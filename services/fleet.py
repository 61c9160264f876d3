"""The fleet of lines: finding them and changing them, one line or many at once.

This module is the one callers import. Finding lines (scope, filters, search, keyset pages)
lives in ``services.fleet_query``, changing them (``Change``, ``preview``, ``apply``) in
``services.fleet_changes`` (which writes through ``services.fleet_writes``); both are
re-exported here, with the number helpers and the single-purpose change functions for callers
that hold the entities.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from functools import lru_cache

import phonenumbers
from sqlalchemy.orm import Session

from core.i18n import _l
from models import Employee, OrgUnit, Service, TariffPlan
from services import ServiceError
from services.audit import Actor
from services.fleet_changes import (  # noqa: F401  (re-exported)
    ACTIONS,
    MAX_LIMIT,
    NETWORK_ACTIONS,
    Change,
    Outcome,
    Resolved,
    _apply,
    allowed_tariff_ids,
    apply,
    preview,
    resolve,
    selected_count,
)
from services.fleet_query import (  # noqa: F401  (re-exported)
    ANY_STATUS,
    COUNT_LIMIT,
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    SORTS,
    WITHOUT_SECRETS,
    FleetFilter,
    FleetScope,
    Handset,
    Page,
    conditions,
    count,
    count_up_to,
    decode_cursor,
    encode_cursor,
    filtered,
    filtered_ids,
    in_subtree,
    line_in_scope,
    page,
    scope_conditions,
    scoped_lines,
)


def normalise_msisdn(raw: str, region: str = "PL") -> str:
    """E.164 for a Polish or international number; ServiceError when it is not one."""
    try:
        number = phonenumbers.parse((raw or "").strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise ServiceError(_l("This is not a phone number."), field="msisdn") from exc
    if not phonenumbers.is_valid_number(number):
        raise ServiceError(_l("This phone number is not valid."), field="msisdn")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=8192)
def format_msisdn(e164: str) -> str:
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


def imei_valid(imei: str) -> bool:
    """15 digits with a Luhn check digit."""
    if not re.fullmatch(r"\d{15}", imei or ""):
        return False
    total = 0
    for i, ch in enumerate(reversed(imei)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# --- one kind of change at a time (for callers that hold the entities) ----------------------


def move_lines(session: Session, actor: Actor, scope: FleetScope, line_ids, unit: OrgUnit) -> int:
    """Move lines to ``unit``, which must be the caller's (in its customer and subtree)."""
    if unit.customer_id != scope.customer_id or (
        scope.unit_path and not unit.path.startswith(scope.unit_path)
    ):
        raise ServiceError(_l("Choose one of your units."), field="unit_id")
    resolved = Resolved(Change("move", unit_id=unit.id), unit=unit)
    return _apply(session, actor, scope, line_ids, resolved).changing


def assign_employee(
    session: Session, actor: Actor, scope: FleetScope, line_ids, employee: Employee | None
) -> int:
    if employee is None:
        return _apply(session, actor, scope, line_ids, Resolved(Change("unassign"))).changing
    if employee.customer_id != scope.customer_id:
        raise ServiceError(_l("Choose one of your employees."), field="employee_id")
    resolved = Resolved(Change("assign", employee_id=employee.id), employee=employee)
    return _apply(session, actor, scope, line_ids, resolved).changing


def request_tariff_change(
    session: Session,
    actor: Actor,
    scope: FleetScope,
    line_ids,
    tariff: TariffPlan,
    allowed: set[int],
) -> int:
    if tariff.id not in allowed:
        raise ServiceError(
            _l("This tariff is not available under your contract."), field="tariff_id"
        )
    resolved = Resolved(Change("tariff", tariff_id=tariff.id), tariff=tariff)
    return _apply(session, actor, scope, line_ids, resolved).changing


def request_status_change(
    session: Session, actor: Actor, scope: FleetScope, line_ids, action: str
) -> int:
    if action not in ("suspend", "resume"):
        raise ServiceError(_l("Choose what to change."), field="action")
    return _apply(session, actor, scope, line_ids, Resolved(Change(action))).changing


def request_service_change(
    session: Session, actor: Actor, scope: FleetScope, line_ids, service: Service, on: bool
) -> int:
    change = Change("service", service=service.value, on=on)
    return _apply(session, actor, scope, line_ids, Resolved(change, service=service)).changing


def set_monthly_limit(
    session: Session, actor: Actor, scope: FleetScope, line_ids, limit: Decimal | None
) -> int:
    return apply(session, actor, scope, line_ids, Change("limit", limit=limit)).changing


def with_scope(scope: FleetScope, **changes) -> FleetScope:
    return replace(scope, **changes)
