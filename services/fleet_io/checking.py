"""Checking an import against the current data: every row either becomes a planned change
(unit A -> B, employee X -> Y), changes nothing, or gets errors (row, column, reason).

The same check runs twice: for the preview (read only) and again inside the apply
transaction, so what is applied is what the data allows at that moment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.i18n import _l
from models import Employee, Line, OrgUnit
from services import ServiceError
from services import fleet as fl
from services.employees import MAX_NAME
from services.employees import MAX_POSITION as MAX_POS
from services.fleet_io.reading import FIELD_LABELS, Sheet, normalised, path_segments

UNASSIGN = ("-", "–", "—")
LOOKUP_CHUNK = 900

ERRORS = {
    "number_missing": _l("The number is missing."),
    "number_invalid": _l("This is not a valid phone number."),
    "number_unknown": _l("There is no such number in your company's fleet."),
    "number_out_of_scope": _l("This number belongs to a unit outside the part you manage."),
    "number_duplicate": _l("The same number is already in row %(first_row)s."),
    "unit_unknown": _l("There is no unit with this name or path."),
    "unit_ambiguous": _l(
        "Several units (%(count)s) have this name. Give the full path, e.g. "
        "Company / Division / Department."
    ),
    "unit_out_of_scope": _l("This unit is outside the part of the company you manage."),
    "cost_centre_unknown": _l("No unit has this cost centre."),
    "cost_centre_ambiguous": _l(
        "Several units (%(count)s) have this cost centre. Use the Unit column instead."
    ),
    "cost_centre_out_of_scope": _l(
        "The unit with this cost centre is outside the part of the company you manage."
    ),
    "unit_cost_centre_mismatch": _l(
        "The unit and the cost centre point to different units (the cost centre belongs to "
        "%(other)s). Fill in only one of them, or make them agree."
    ),
    "email_invalid": _l("This is not a valid e-mail address."),
    "email_missing": _l(
        "Employees are identified by e-mail: fill in the E-mail column (or leave the name and "
        "position empty)."
    ),
    "name_missing": _l(
        "There is no employee with this e-mail yet: give the employee's name to create one."
    ),
    "name_conflict": _l("Row %(first_row)s gives a different name for this new employee."),
    "too_long": _l("The text is too long (at most %(max)s characters)."),
}


def error_text(code: str, params: dict | None = None) -> str:
    message = ERRORS.get(code)
    if message is None:
        return code
    text = str(message)
    return text % params if params and "%(" in text else text


@dataclass
class RowError:
    row: int
    column: str  # the field (number, unit, ...)
    header: str  # the column's header as written in the file
    value: str
    code: str
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass
class Change:
    row: int
    line_id: int
    msisdn: str
    unit_from: int
    unit_to: int | None = None  # None: the unit stays
    employee_from: int | None = None
    employee_set: bool = False  # the employee changes (to employee_to or, if None, to nobody)
    employee_to: int | None = None
    new_employee: str | None = None  # e-mail (lower case) of an employee to create


@dataclass
class NewEmployee:
    email: str
    full_name: str
    position: str | None
    unit_id: int
    row: int


@dataclass
class Plan:
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    new_employees: dict[str, NewEmployee] = field(default_factory=dict)

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})


class _Units:
    """The customer's units, found by path, name or cost centre, with the caller's scope."""

    def __init__(self, session: Session, scope: fl.FleetScope) -> None:
        rows = session.execute(
            select(OrgUnit.id, OrgUnit.name, OrgUnit.path, OrgUnit.cost_centre).where(
                OrgUnit.customer_id == scope.customer_id
            )
        ).all()
        names = {uid: name for uid, name, _p, _c in rows}
        self.path = {uid: path for uid, _n, path, _c in rows}
        self.label = {
            uid: " / ".join(names.get(int(p), "?") for p in path.strip("/").split("/") if p)
            for uid, _n, path, _c in rows
        }
        self.segments: dict[int, list[str]] = {}
        self.by_last: dict[str, list[int]] = {}
        self.by_name: dict[str, list[int]] = {}
        self.by_centre: dict[str, list[int]] = {}
        for uid, name, path, centre in rows:
            segs = [normalised(names.get(int(p), "")) for p in path.strip("/").split("/") if p]
            self.segments[uid] = segs
            self.by_last.setdefault(segs[-1], []).append(uid)
            self.by_name.setdefault(normalised(name), []).append(uid)
            if centre:
                self.by_centre.setdefault(normalised(centre), []).append(uid)
        self.scope_path = scope.unit_path

    def in_scope(self, uid: int) -> bool:
        return not self.scope_path or self.path[uid].startswith(self.scope_path)

    def by_path(self, value: str) -> list[int]:
        segs = path_segments(value)
        found = set(self.by_name.get(normalised(value), []))  # a name that contains "/"
        if segs:
            for uid in self.by_last.get(segs[-1], []):
                if self.segments[uid][-len(segs) :] == segs:
                    found.add(uid)
        return sorted(found)

    def pick(self, candidates: list[int], prefix: str) -> tuple[int | None, str | None, dict]:
        """One unit, or the reason there is not exactly one the caller may use."""
        if not candidates:
            return None, f"{prefix}_unknown", {}
        mine = [u for u in candidates if self.in_scope(u)]
        if len(mine) == 1:
            return mine[0], None, {}
        if len(mine) > 1:
            return None, f"{prefix}_ambiguous", {"count": len(mine)}
        return None, f"{prefix}_out_of_scope", {}


_PLAIN_PL = re.compile(r"(?:\+48|0048|48)?(\d{9})")


def _quick_number(raw: str) -> str | None:
    """E.164 for the common Polish spellings (+48 601 200 300, 601-200-300, 48601200300 from a
    number cell); None for anything else. Only a guess: it is trusted when the line exists."""
    m = _PLAIN_PL.fullmatch(raw.replace(" ", "").replace("-", ""))
    return f"+48{m.group(1)}" if m else None


def _normal_number(raw: str) -> str | None:
    """E.164 of any valid number (phonenumbers: ~0.1 ms, so only for what the quick guess
    did not find)."""
    digits = "".join(c for c in raw if c.isdigit())
    if raw.isdigit() and len(digits) == 11 and digits.startswith("48"):
        raw = "+" + digits  # a number Excel stored as a number lost its "+"
    try:
        return fl.normalise_msisdn(raw)
    except ServiceError:
        return None


def check(session: Session, scope: fl.FleetScope, sheet: Sheet, *, lock: bool = False) -> Plan:
    """The plan for ``sheet`` against the data as it is now. ``lock``: lock the lines
    (inside the apply transaction)."""
    plan = Plan(rows=len(sheet.rows))
    units = _Units(session, scope)
    headers = {f: sheet.columns.get(f) or str(FIELD_LABELS[f]) for f in FIELD_LABELS}

    def fail(row, column, value, code, **params):
        plan.errors.append(RowError(row, column, headers[column], value, code, params))

    quick = {row: _quick_number(values.get("number", "")) for row, values in sheet.rows}
    lines = _lines(session, {n for n in quick.values() if n}, lock)
    numbers = {}
    for row, values in sheet.rows:
        raw = values.get("number", "")
        numbers[row] = quick[row] if quick[row] in lines else (_normal_number(raw) if raw else None)
    missed = {n for n in numbers.values() if n and n not in lines}
    lines |= _lines(session, missed, lock)
    employees = {
        email.lower(): (eid, name, email)
        for eid, email, name in session.execute(
            select(Employee.id, Employee.email, Employee.full_name).where(
                Employee.customer_id == scope.customer_id, Employee.email.is_not(None)
            )
        )
    }
    seen: dict[str, int] = {}
    for row, values in sheet.rows:
        errors_before = len(plan.errors)
        raw_number = values.get("number", "")
        msisdn = numbers[row]
        line = None
        if not raw_number:
            fail(row, "number", raw_number, "number_missing")
        elif msisdn is None:
            fail(row, "number", raw_number, "number_invalid")
        elif msisdn in seen:
            fail(row, "number", raw_number, "number_duplicate", first_row=seen[msisdn])
        else:
            seen[msisdn] = row
            line = lines.get(msisdn)
            if line is None or line.customer_id != scope.customer_id:
                fail(row, "number", raw_number, "number_unknown")
                line = None
            elif not _line_in_scope(line, scope):
                fail(row, "number", raw_number, "number_out_of_scope")
                line = None

        target_unit = _target_unit(values, units, partial(fail, row))

        email = values.get("email", "")
        name, position = values.get("name", ""), values.get("position", "")
        employee_set, employee_to, new_email = False, None, None
        for column, value, limit in (("name", name, MAX_NAME), ("position", position, MAX_POS)):
            if len(value) > limit:
                fail(row, column, value[:60] + "…", "too_long", max=limit)
        if email in UNASSIGN:
            employee_set = True
        elif email:
            known = employees.get(email.lower())
            address = known[2] if known else _valid_email(email)
            if address is None:
                fail(row, "email", email, "email_invalid")
            elif address.lower() in employees:
                employee_set, employee_to = True, employees[address.lower()][0]
            elif not name:
                fail(row, "name", name, "name_missing")
            else:
                employee_set, new_email = True, address.lower()
                known = plan.new_employees.get(new_email)
                if known is not None and normalised(known.full_name) != normalised(name):
                    fail(row, "name", name, "name_conflict", first_row=known.row)
        elif name or position:
            fail(row, "email", email, "email_missing")

        if line is None or len(plan.errors) > errors_before:
            continue
        if new_email and new_email not in plan.new_employees:
            plan.new_employees[new_email] = NewEmployee(
                address, name, position or None, target_unit or line.unit_id, row
            )
        change = Change(row, line.id, line.msisdn, line.unit_id, employee_from=line.employee_id)
        if target_unit is not None and target_unit != line.unit_id:
            change.unit_to = target_unit
        if employee_set and (new_email or employee_to != line.employee_id):
            change.employee_set, change.employee_to = True, employee_to
            change.new_employee = new_email
        if change.unit_to is None and not change.employee_set:
            plan.unchanged += 1
        else:
            plan.changes.append(change)
    return plan


def _target_unit(values: dict, units: _Units, fail) -> int | None:
    unit_value, centre_value = values.get("unit", ""), values.get("cost_centre", "")
    by_unit = by_centre = None
    if unit_value:
        by_unit, code, params = units.pick(units.by_path(unit_value), "unit")
        if code:
            fail("unit", unit_value, code, **params)
    if centre_value:
        found = units.by_centre.get(normalised(centre_value), [])
        by_centre, code, params = units.pick(found, "cost_centre")
        if code:
            fail("cost_centre", centre_value, code, **params)
    if by_unit and by_centre and by_unit != by_centre:
        other = units.label[by_centre]
        fail("cost_centre", centre_value, "unit_cost_centre_mismatch", other=other)
        return None
    return by_unit or by_centre


_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24}"
)


def _valid_email(value: str) -> str | None:
    """The address as the employee register keeps it (services.employees: email_validator's
    normal form); plain ASCII addresses take a fast path with the same result."""
    if len(value) > 254:
        return None
    local, _, domain = value.rpartition("@")
    domain = domain.lower()
    if (
        _PLAIN_EMAIL.fullmatch(value)
        and len(local) <= 64
        and not any(domain == d or domain.endswith("." + d) for d in SPECIAL_USE_DOMAIN_NAMES)
        and all(len(label) <= 63 for label in domain.split("."))
    ):
        return f"{local}@{domain}"
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _line_in_scope(line, scope: fl.FleetScope) -> bool:
    if scope.unit_path and not line.unit_path.startswith(scope.unit_path):
        return False
    return scope.employee_id is None or line.employee_id == scope.employee_id


def _lines(session: Session, msisdns: set[str], lock: bool) -> dict:
    found = {}
    ordered = sorted(msisdns)
    for i in range(0, len(ordered), LOOKUP_CHUNK):
        query = select(
            Line.id, Line.msisdn, Line.customer_id, Line.unit_id, Line.unit_path, Line.employee_id
        ).where(Line.msisdn.in_(ordered[i : i + LOOKUP_CHUNK]))
        if lock:
            query = query.with_for_update()
        for r in session.execute(query):
            found[r.msisdn] = r
    return found


def employee_lookup(session: Session, customer_id: int, ids: set[int]) -> dict[int, tuple]:
    """id -> (name, e-mail) for the preview."""
    out = {}
    ordered = sorted(i for i in ids if i)
    for i in range(0, len(ordered), LOOKUP_CHUNK):
        for eid, name, email in session.execute(
            select(Employee.id, Employee.full_name, Employee.email).where(
                Employee.customer_id == customer_id, Employee.id.in_(ordered[i : i + LOOKUP_CHUNK])
            )
        ):
            out[eid] = (name, email)
    return out
