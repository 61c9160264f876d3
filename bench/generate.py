"""The bench data set: one customer with 50,000 lines in a 5-level tree of 500 units, and two
customers with 20,000 lines each, so that every index holds other customers' rows too.

Deterministic (one seed), bulk inserts, and reused when the data already exists: a marker file
``bench/data/<database>.json`` records the version, scale and what the measurements need (ids,
search fragments); it is trusted only when the database still holds that many lines.

    python -m bench.generate --db sqlite --scale 0.1
"""

from __future__ import annotations

import argparse
import json
import random
import re
import unicodedata
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal

import phonenumbers
from faker import Faker
from sqlalchemy import Text, column, insert, select, table, text, update
from sqlalchemy.orm import Session

from bench import dataset
from bench.common import (
    DATA_DIR,
    PASSWORD,
    Stopwatch,
    Target,
    log,
    reset,
    target,
)
from bench.dataset import Dataset, choose_scenarios
from core import crypto, migrate
from core.crypto import EncryptedText
from core.db import make_engine
from models import (
    Customer,
    Employee,
    Line,
    LineStatus,
    OrgUnit,
    PortalRole,
    PortalUser,
)
from services import passwords
from services.audit import Actor
from services.customers import create_customer
from services.demo.fleet import HANDSETS, MOBILE_PREFIXES, POSITIONS, load_catalogue, luhn_digit

SEED = 5000
NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # fixed, so every generation is the same

# name, NIP (valid check digit), domain, lines at scale 1, units at scale 1, tree levels
CUSTOMERS = [
    ("Bench Wielka Sieć S.A.", "5260250274", "wielkasiec.example", 50_000, 500, 5),
    ("Bench Transport Sp. z o.o.", "7010001453", "benchtrans.example", 20_000, 120, 4),
    ("Bench Usługi Sp. z o.o.", "5213017228", "benchuslugi.example", 20_000, 120, 4),
]
# Share of each level in a tree of 5 (or the first n) levels; level 0 has ten divisions, so
# one division holds about a tenth of the lines.
LEVEL_SHARES = [10, 40, 100, 150, 200]
LEVEL_NAMES = ["Pion", "Region", "Oddział", "Dział", "Zespół"]
# The large customer's tariff mix: BIZ-L is a fifth of the lines (the bulk-move selection).
TARIFF_MIX = {"BIZ-S": 25, "BIZ-M": 30, "BIZ-L": 20, "BIZ-MAX": 5, "DATA-50": 10, "M2M-1": 10}
TOKEN_POOL = 32  # distinct encrypted PIN/PUK values per column; encrypting 360k is needless


def _ascii(text_: str) -> str:
    """For e-mail addresses: "Anna Maria" -> "annamaria", "Łukasz" -> "lukasz"."""
    text_ = text_.replace("ł", "l").replace("Ł", "L")
    text_ = unicodedata.normalize("NFKD", text_).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9-]+", "", text_)


def _level_sizes(units: int, levels: int) -> list[int]:
    """Ten divisions at the top (one holds about a tenth of the lines), the rest by share."""
    top = min(LEVEL_SHARES[0], units)
    shares = LEVEL_SHARES[1:levels]
    rest = units - top
    sizes = [top] + [max(1, round(rest * s / sum(shares))) for s in shares]
    sizes[-1] += units - sum(sizes)
    return [s for s in sizes if s > 0]


def _build_tree(session: Session, customer_id: int, sizes: list[int]) -> list[OrgUnit]:
    """Level by level, children spread round-robin over the previous level; paths as the app
    makes them (``/12/45/``). Inserted with placeholder paths, then paths set in one batch."""
    parents: list[tuple[int, str]] = []  # (id, path)
    made: list[tuple[int, str, int]] = []  # (id, path, depth)
    for depth, size in enumerate(sizes):
        rows = []
        for k in range(size):
            parent = parents[k % len(parents)] if parents else None
            rows.append(
                {
                    "customer_id": customer_id,
                    "parent_id": parent[0] if parent else None,
                    "name": f"{LEVEL_NAMES[depth]} {k + 1}",
                    "cost_centre": f"CC-{depth}{k + 1:04d}",
                    "path": f"~{depth}-{k}",
                    "depth": depth,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        ids = session.scalars(
            insert(OrgUnit).returning(OrgUnit.id, sort_by_parameter_order=True), rows
        ).all()
        level = []
        for k, unit_id in enumerate(ids):
            parent = parents[k % len(parents)] if parents else None
            level.append((unit_id, f"{parent[1] if parent else '/'}{unit_id}/"))
        session.execute(update(OrgUnit), [{"id": i, "path": p} for i, p in level])
        made += [(i, p, depth) for i, p in level]
        parents = level
    session.flush()
    return list(session.scalars(select(OrgUnit).where(OrgUnit.customer_id == customer_id)))


class _Identifiers:
    """Unique, valid MSISDNs, ICCIDs, IMSIs and IMEIs for the whole data set."""

    def __init__(self, rng: random.Random, total: int) -> None:
        picks = rng.sample(range(len(MOBILE_PREFIXES) * 10**6), total + total // 20)
        numbers = []
        for p in picks:
            e164 = f"+48{MOBILE_PREFIXES[p // 10**6]}{p % 10**6:06d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(e164)):
                numbers.append(e164)
        if len(numbers) < total:
            raise RuntimeError("not enough valid numbers drawn; raise the margin")
        self.numbers = iter(numbers)
        self.serial = 0

    def next(self, tac: str | None) -> tuple[str, str, str, str | None]:
        self.serial += 1
        body = f"894801{7 * 10**11 + self.serial:012d}"
        imei = None
        if tac:
            imei_body = tac + f"{self.serial % 10**6:06d}"
            imei = imei_body + luhn_digit(imei_body)
        return next(self.numbers), body + luhn_digit(body), f"26001{self.serial:010d}", imei


def _token_pool(rng: random.Random) -> dict[str, list[str]]:
    def codes(digits):
        return [
            crypto.encrypt(f"{rng.randrange(10**digits):0{digits}d}") for _ in range(TOKEN_POOL)
        ]

    return {"pin1": codes(4), "puk1": codes(8), "pin2": codes(4), "puk2": codes(8)}


def _plain_line_table():
    """``line`` with PIN/PUK columns as plain text: the rows carry ready Fernet tokens."""
    return table(
        "line",
        *[
            column(c.name, Text() if isinstance(c.type, EncryptedText) else c.type)
            for c in Line.__table__.columns
        ],
    )


def _fleet(
    session: Session,
    customer: Customer,
    units: list[OrgUnit],
    line_count: int,
    domain: str,
    ctx: dict,
    rng: random.Random,
) -> int:
    """Employees (about 0.85 per line) and lines for one customer; returns employees made."""
    fake = ctx["faker"]
    weights = [3 if u.depth >= 4 else 2 if u.depth == 3 else 1 for u in units]
    people = int(line_count * 0.85)
    employees, homes = [], []
    for i in range(people):
        female = rng.random() < 0.45
        first = fake.first_name_female() if female else fake.first_name_male()
        last = fake.last_name_female() if female else fake.last_name_male()
        unit = rng.choices(units, weights)[0]
        homes.append(unit)
        employees.append(
            {
                "customer_id": customer.id,
                "unit_id": unit.id,
                "full_name": f"{first} {last}",
                "email": f"{_ascii(first)}.{_ascii(last)}.{i + 1}@{domain}",
                "position": rng.choice(POSITIONS),
                "phonebook_hidden": rng.random() < 0.03,
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
    emp_ids = []
    for start in range(0, len(employees), 5000):
        emp_ids += session.scalars(
            insert(Employee).returning(Employee.id, sort_by_parameter_order=True),
            employees[start : start + 5000],
        ).all()

    tariffs, handsets, tokens = ctx["tariffs"], ctx["handsets"], ctx["tokens"]
    codes, code_weights = list(TARIFF_MIX), list(TARIFF_MIX.values())
    rows = []
    for i in range(line_count):
        if i < people:
            employee_id, unit = emp_ids[i], homes[i]
        elif rng.random() < 0.5:  # a second line (tablet, data card) for someone
            k = rng.randrange(people)
            employee_id, unit = emp_ids[k], homes[k]
        else:  # telemetry and spare lines kept by a unit
            employee_id, unit = None, rng.choices(units, weights)[0]
        roll = rng.random()
        status = (
            LineStatus.active
            if roll < 0.94
            else LineStatus.suspended
            if roll < 0.975
            else LineStatus.pendingTerminate
            if roll < 0.985
            else LineStatus.terminated
        )
        handset = rng.choices(handsets, [16, 6, 12, 24, 14, 14, 6, 8])[0] if roll < 0.8 else None
        tac = ctx["tacs"][handset.sku] if handset else None
        msisdn, iccid, imsi, imei = ctx["ids"].next(tac)
        rows.append(
            {
                "customer_id": customer.id,
                "unit_id": unit.id,
                "unit_path": unit.path,
                "msisdn": msisdn,
                "status": status,
                "tariff_id": tariffs[rng.choices(codes, code_weights)[0]].id,
                "employee_id": employee_id,
                "iccid": iccid,
                "imsi": imsi,
                **{col: rng.choice(pool) for col, pool in tokens.items()},
                "handset_id": handset.id if handset else None,
                "imei": imei,
                "monthly_limit": rng.choice([None, Decimal("150.00"), Decimal("400.00")]),
                "activated_at": NOW,
                "terminated_at": NOW if status == LineStatus.terminated else None,
                "svc_roaming": rng.random() < 0.22,
                "svc_data": rng.random() < 0.98,
                "svc_intl_calls": rng.random() < 0.15,
                "svc_premium_barring": rng.random() < 0.9,
                "svc_location": rng.random() < 0.05,
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
    line_table = _plain_line_table()
    for start in range(0, len(rows), 5000):
        session.execute(insert(line_table), rows[start : start + 5000])
    return people


def ensure(tgt: Target, scale: float = 1.0, *, force: bool = False) -> Dataset:
    """The data set on ``tgt`` at ``scale``: reused when present, generated otherwise."""
    if not force and (found := dataset.existing(tgt, scale)) is not None:
        log(f"{tgt.name}: reusing bench data ({found.lines} lines, scale {scale})")
        return found
    log(f"{tgt.name}: generating bench data at scale {scale}")
    with Stopwatch() as watch:
        data = _generate(tgt, scale)
    data.generated_in_s = round(watch.seconds, 1)
    data.save(tgt)
    log(f"{tgt.name}: generated in {watch.seconds:.1f} s")
    return data


def _generate(tgt: Target, scale: float) -> Dataset:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    reset(tgt)
    settings = tgt.settings()
    migrate.upgrade(settings.database_url)
    crypto.configure(settings.data_key)
    rng = random.Random(SEED)
    faker = Faker("pl_PL")
    faker.seed_instance(SEED)
    engine = make_engine(settings.database_url)
    sizes = [
        (max(100, round(n * scale)), max(10, round(u * scale)), lv) for *_, n, u, lv in CUSTOMERS
    ]
    with Session(engine) as session:
        tariffs, handsets = load_catalogue(session)
        ctx = {
            "faker": faker,
            "tariffs": tariffs,
            "handsets": handsets,
            "tacs": {sku: tac for sku, *_, tac in HANDSETS},
            "tokens": _token_pool(rng),
            "ids": _Identifiers(rng, sum(n for n, _, _ in sizes)),
        }
        pw = passwords.hash_password(PASSWORD)
        made = []
        for (name, nip, domain, *_), (lines, units, levels) in zip(CUSTOMERS, sizes, strict=True):
            customer = create_customer(
                session,
                Actor.system("bench"),
                name=name,
                nip=nip,
                street="ul. Testowa 1",
                postal_code="00-950",
                city="Warszawa",
            )
            tree = _build_tree(session, customer.id, _level_sizes(units, levels))
            people = _fleet(session, customer, tree, lines, domain, ctx, rng)
            session.add(
                PortalUser(
                    customer_id=customer.id,
                    email=f"admin@{domain}",
                    full_name="Administrator floty",
                    role=PortalRole.fleet_admin,
                    password_hash=pw,
                )
            )
            made.append((customer, len(tree), people))
            log(f"{tgt.name}: {name}: {units} units, {people} employees, {lines} lines")
        session.commit()
        big, units, people = made[0]
        chosen = choose_scenarios(session, big.id)
    if tgt.name == "postgres":
        # What autovacuum does soon after a bulk load: statistics and the visibility map
        # (index-only scans). SQLite gets no ANALYZE: the app never runs one.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return Dataset(
        version=dataset.VERSION,
        scale=scale,
        database=tgt.name,
        customer_id=big.id,
        admin_email=f"admin@{CUSTOMERS[0][2]}",
        password=PASSWORD,
        other_lines=sum(n for n, _, _ in sizes[1:]),
        units=units,
        employees=people,
        generated_in_s=0.0,
        **chosen,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--force", action="store_true", help="regenerate even if present")
    args = parser.parse_args(argv)
    for name in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        data = ensure(target(name), args.scale, force=args.force)
        print(json.dumps(asdict(data), indent=2))


if __name__ == "__main__":
    main()
