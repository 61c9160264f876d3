"""Self-service policies: the rules a fleet administrator sets per unit, inherited down the
department tree. A unit overrides any rule for itself and its subunits; the company's top unit
holds the company-wide default; a rule nobody set has the built-in default below.

``effective`` reads every rule on a unit's chain from the root in one query (the chain is the
unit's materialised path) and tells, for each rule, its value and where it comes from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.i18n import _l
from models import Line, OrgUnit, PolicyRule, Product, ProductKind, Service
from services import ServiceError, audit
from services.audit import Actor

# How an employee may switch a service.
SELF = "self"  # themselves
APPROVAL = "approval"  # only with a fleet admin's approval
NEVER = "never"  # not at all
MODES = (SELF, APPROVAL, NEVER)

# Roaming zones, each containing the one before.
ZONES = ("eu", "europe", "world")

# Above the handset budget the employee either pays the difference or needs an approval.
OVER_BUDGET = ("pay", "approval")

MAX_AMOUNT = Decimal("100000")


def _mode(value) -> str:
    if value not in MODES:
        raise ValueError
    return value


def _zone(value) -> str:
    if value not in ZONES:
        raise ValueError
    return value


def _int_between(low: int, high: int) -> Callable:
    def parse(value) -> int:
        if isinstance(value, bool):
            raise ValueError
        number = int(str(value).strip())
        if not low <= number <= high:
            raise ValueError
        return number

    return parse


def _amount(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise ValueError from None
    if not amount.is_finite() or not 0 <= amount <= MAX_AMOUNT:
        raise ValueError
    return amount.quantize(Decimal("0.01"))


def _models(value) -> list[int] | None:
    if value in (None, "", []):
        return None
    ids = sorted({int(v) for v in value})
    if not ids or any(i <= 0 or i >= 2**63 for i in ids):
        raise ValueError
    return ids


def _yes_no(value) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("1", "yes", "on", "true"):
        return True
    if value in ("0", "no", "off", "false", ""):
        return False
    raise ValueError


# Rules whose value is yes or no.
SWITCHES = ("spend.roaming_off", "roaming.cap_off")


def _over_budget(value) -> str:
    if value not in OVER_BUDGET:
        raise ValueError
    return value


@dataclass(frozen=True)
class RuleDef:
    key: str
    label: object  # lazy string
    default: object
    parse: Callable  # form value -> Python value; ValueError when invalid
    error: object  # lazy string shown when ``parse`` refuses


def service_rule(service: Service | str) -> str:
    return f"service.{Service(service).value}"


_MODE_ERROR = _l("Choose who may switch the service.")
RULES: dict[str, RuleDef] = {
    r.key: r
    for r in (
        RuleDef(service_rule(Service.roaming), _l("Roaming"), SELF, _mode, _MODE_ERROR),
        RuleDef(service_rule(Service.data), _l("Mobile data"), SELF, _mode, _MODE_ERROR),
        RuleDef(
            service_rule(Service.intl_calls),
            _l("International calls"),
            APPROVAL,
            _mode,
            _MODE_ERROR,
        ),
        RuleDef(
            service_rule(Service.premium_barring),
            _l("Premium-rate barring"),
            APPROVAL,
            _mode,
            _MODE_ERROR,
        ),
        RuleDef(service_rule(Service.location), _l("Location service"), NEVER, _mode, _MODE_ERROR),
        RuleDef(
            "roaming.zone",
            _l("Roaming zones allowed"),
            "eu",
            _zone,
            _l("Choose a roaming zone."),
        ),
        RuleDef(
            "roaming.max_days",
            _l("Longest self-service roaming period (days)"),
            14,
            _int_between(1, 365),
            _l("Enter a number of days between 1 and 365."),
        ),
        RuleDef(
            "roaming.spend_cap",
            _l("Monthly roaming spend cap"),
            None,
            _amount,
            _l("Enter an amount between 0 and 100 000 PLN, or leave it empty for no cap."),
        ),
        RuleDef(
            "roaming.cap_off",
            _l("Switch roaming off when the roaming spend cap is reached"),
            False,
            _yes_no,
            _l("Choose yes or no."),
        ),
        RuleDef(
            "spend.roaming_off",
            _l("Switch roaming off when the projected spend reaches the line's limit"),
            False,
            _yes_no,
            _l("Choose yes or no."),
        ),
        RuleDef(
            "exchange.months",
            _l("Months since the last handset exchange"),
            24,
            _int_between(0, 120),
            _l("Enter a number of months between 0 and 120."),
        ),
        RuleDef(
            "exchange.models",
            _l("Handset models allowed"),
            None,
            _models,
            _l("Choose handsets from the list."),
        ),
        RuleDef(
            "exchange.budget",
            _l("Handset budget"),
            None,
            _amount,
            _l("Enter an amount between 0 and 100 000 PLN, or leave it empty for no budget."),
        ),
        RuleDef(
            "exchange.over_budget",
            _l("Above the budget"),
            APPROVAL,
            _over_budget,
            _l("Choose what happens above the budget."),
        ),
    )
}


def to_json(key: str, value):
    if isinstance(value, Decimal):
        return str(value)
    return value


def from_json(key: str, raw):
    """The stored JSON as the rule's Python value (amounts as Decimal)."""
    if raw is None:
        return None
    return RULES[key].parse(raw)


@dataclass(frozen=True)
class Effective:
    """A rule's value for a unit and where it comes from (``unit`` None: built-in default)."""

    key: str
    value: object
    unit: OrgUnit | None

    @property
    def is_default(self) -> bool:
        return self.unit is None


class Policy(dict):
    """rule key -> Effective, for one unit (and so for its lines)."""

    def value(self, key: str):
        return self[key].value

    def mode(self, service: Service | str) -> str:
        return self.value(service_rule(service))


def _path_ids(path: str) -> list[int]:
    return [int(p) for p in path.strip("/").split("/") if p]


def effective_for_path(session: Session, customer_id: int, path: str) -> Policy:
    """The policy in force at the unit with this path: one query for the rules and the units
    they belong to, whatever the depth."""
    chain = _path_ids(path)
    rows = session.execute(
        select(PolicyRule, OrgUnit)
        .join(OrgUnit, OrgUnit.id == PolicyRule.unit_id)
        .where(PolicyRule.customer_id == customer_id, PolicyRule.unit_id.in_(chain))
    ).all()
    depth = {unit_id: i for i, unit_id in enumerate(chain)}
    chosen: dict[str, tuple[int, PolicyRule, OrgUnit]] = {}
    for rule, unit in rows:
        if rule.rule not in RULES:
            continue
        level = depth[unit.id]
        if rule.rule not in chosen or level > chosen[rule.rule][0]:
            chosen[rule.rule] = (level, rule, unit)
    policy = Policy()
    for key, definition in RULES.items():
        if key in chosen:
            _level, rule, unit = chosen[key]
            policy[key] = Effective(key, from_json(key, rule.value), unit)
        else:
            policy[key] = Effective(key, definition.default, None)
    return policy


def effective(session: Session, unit: OrgUnit) -> Policy:
    return effective_for_path(session, unit.customer_id, unit.path)


def effective_for_line(session: Session, line: Line) -> Policy:
    return effective_for_path(session, line.customer_id, line.unit_path)


def own_rules(session: Session, unit: OrgUnit) -> dict[str, object]:
    """The rules this unit sets itself (key -> Python value)."""
    rows = session.scalars(select(PolicyRule).where(PolicyRule.unit_id == unit.id))
    return {r.rule: from_json(r.rule, r.value) for r in rows if r.rule in RULES}


def parse_rules(raw: dict[str, object]) -> dict[str, object]:
    """Check a unit's overrides from a form (key -> raw value); ServiceError at the first bad
    one, with the rule's key as the field."""
    parsed = {}
    for key, value in raw.items():
        if key not in RULES:
            raise ServiceError(_l("This is not a policy rule."), field=key)
        try:
            parsed[key] = RULES[key].parse(value)
        except (ValueError, TypeError):
            raise ServiceError(RULES[key].error, field=key) from None
    return parsed


def set_rules(session: Session, actor: Actor, unit: OrgUnit, overrides: dict[str, object]) -> bool:
    """Replace the unit's own rules by ``overrides`` (key -> raw value; a key left out is
    inherited). Checks everything first: nothing is half-applied. Returns whether anything
    changed."""
    parsed = parse_rules(overrides)
    models = parsed.get("exchange.models")
    if models:
        found = set(
            session.scalars(
                select(Product.id).where(
                    Product.id.in_(models), Product.kind == ProductKind.handset
                )
            )
        )
        if found != set(models):
            raise ServiceError(RULES["exchange.models"].error, field="exchange.models")
    before = own_rules(session, unit)
    if before == parsed:
        return False
    session.execute(delete(PolicyRule).where(PolicyRule.unit_id == unit.id))
    session.add_all(
        PolicyRule(
            customer_id=unit.customer_id,
            unit_id=unit.id,
            rule=key,
            value=to_json(key, value),
            updated_by=actor.label,
        )
        for key, value in parsed.items()
    )
    audit.record(
        session,
        actor,
        "policy.changed",
        customer_id=unit.customer_id,
        obj=unit,
        before={k: to_json(k, v) for k, v in before.items()},
        after={k: to_json(k, v) for k, v in parsed.items()},
    )
    session.flush()
    return True


def zone_allows(allowed: str, wanted: str) -> bool:
    """Whether the allowed zone covers the wanted one (EU within Europe within the world)."""
    return ZONES.index(wanted) <= ZONES.index(allowed)
