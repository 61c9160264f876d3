"""Demo catalogue and fleets: tariffs, handsets, employees and lines that look like real ones.

Numbers are valid Polish mobile numbers, ICCIDs and IMEIs carry correct Luhn check digits,
IMSIs use the Polish MCC. Everything is derived from one seed, so every load is the same.
"""

from __future__ import annotations

import random
import unicodedata
from decimal import Decimal

import phonenumbers
from faker import Faker
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from models import (
    Customer,
    Employee,
    Line,
    LineStatus,
    OrgUnit,
    PortalUser,
    Product,
    ProductKind,
    TariffPlan,
)
from models.base import utcnow
from services.demo.usage import demo_start
from services.usage import local_today

TARIFFS = [
    # code, name, fee, minutes, sms, data MB (None = unlimited)
    ("BIZ-S", "Biznes S", "29.99", None, None, 5 * 1024),
    ("BIZ-M", "Biznes M", "49.99", None, None, 30 * 1024),
    ("BIZ-L", "Biznes L", "79.99", None, None, 100 * 1024),
    ("BIZ-MAX", "Biznes Max", "119.99", None, None, None),
    ("DATA-50", "Internet Mobilny 50 GB", "39.99", 0, 0, 50 * 1024),
    ("M2M-1", "M2M Telemetria 1 GB", "9.99", 0, 100, 1024),
]
# weights for employees' main lines
TARIFF_WEIGHTS = {"BIZ-S": 30, "BIZ-M": 40, "BIZ-L": 18, "BIZ-MAX": 7}

HANDSETS = [
    # sku, manufacturer, name, price, TAC (first 8 IMEI digits)
    ("APL-IP16-128", "Apple", "iPhone 16 128 GB", "3999.00", "35467128"),
    ("APL-IP16P-256", "Apple", "iPhone 16 Pro 256 GB", "5799.00", "35291145"),
    ("SAM-S25-256", "Samsung", "Galaxy S25 256 GB", "4299.00", "35066583"),
    ("SAM-A56-128", "Samsung", "Galaxy A56 5G 128 GB", "1799.00", "35226817"),
    ("XIA-RN14-256", "Xiaomi", "Redmi Note 14 Pro 256 GB", "1399.00", "86781207"),
    ("MOT-G85-256", "Motorola", "moto g85 5G 256 GB", "1199.00", "35196734"),
    ("NOK-105-4G", "Nokia", "105 4G", "149.00", "35335011"),
    ("SAM-TABS10", "Samsung", "Galaxy Tab S10 FE 5G", "2699.00", "35381542"),
]
HANDSET_WEIGHTS = [16, 6, 12, 24, 14, 14, 6, 0]
ACCESSORIES = [
    ("ACC-USBC-25W", "Samsung", "Ładowarka sieciowa USB-C 25 W", "99.00"),
    ("ACC-CASE-IP16", "Apple", "Etui silikonowe iPhone 16", "249.00"),
    ("ACC-BUDS-FE", "Samsung", "Słuchawki Galaxy Buds FE", "449.00"),
    ("ACC-CAR-HOLD", "Hama", "Uchwyt samochodowy z ładowaniem", "159.00"),
]
MOBILE_PREFIXES = [
    "501",
    "502",
    "504",
    "509",
    "510",
    "512",
    "515",
    "519",
    "530",
    "533",
    "535",
    "600",
    "601",
    "602",
    "603",
    "604",
    "605",
    "661",
    "662",
    "664",
    "691",
    "692",
    "693",
    "695",
    "697",
    "721",
    "724",
    "728",
    "730",
    "731",
    "781",
    "784",
    "790",
]
POSITIONS = [
    "Przedstawiciel handlowy",
    "Kierownik regionu",
    "Specjalista ds. sprzedaży",
    "Magazynier",
    "Kierowca",
    "Koordynator logistyki",
    "Administrator systemów",
    "Programista",
    "Analityk",
    "Księgowa",
    "Specjalista ds. kadr",
    "Kierownik zespołu",
    "Dyrektor",
    "Asystentka zarządu",
    "Specjalista ds. marketingu",
    "Serwisant",
    "Kontroler jakości",
    "Specjalista IT",
    "Kierownik sklepu",
    "Doradca klienta",
]


def luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def _ascii(text: str) -> str:
    text = text.replace("ł", "l").replace("Ł", "L")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


class _Numbers:
    """Unique, valid identifiers for the whole demo."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.msisdns: set[str] = set()
        self.serial = 0

    def msisdn(self) -> str:
        while True:
            raw = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**6):06d}"
            e164 = "+48" + raw
            if e164 in self.msisdns:
                continue
            if phonenumbers.is_valid_number(phonenumbers.parse(e164)):
                self.msisdns.add(e164)
                return e164

    def sim(self) -> tuple[str, str]:
        self.serial += 1
        body = f"894801{self.serial:012d}"
        iccid = body + luhn_digit(body)
        imsi = f"26001{self.serial:010d}"
        return iccid, imsi

    def imei(self, tac: str) -> str:
        self.serial += 1
        body = tac + f"{self.serial % 10**6:06d}"
        return body + luhn_digit(body)


def load_catalogue(session: Session) -> tuple[dict[str, TariffPlan], list[Product]]:
    tariffs = {}
    for code, name, fee, minutes, sms, data in TARIFFS:
        t = TariffPlan(
            code=code,
            name=name,
            monthly_fee=Decimal(fee),
            included_minutes=minutes,
            included_sms=sms,
            included_data_mb=data,
            # Past the data allowance the speed drops (no charge); abroad outside the EU the
            # demo price list of services.demo.usage.
            rate_data_domestic_mb=Decimal("0"),
            rate_data_eu_mb=Decimal("0"),
            rate_voice_world=Decimal("8.99"),
            rate_sms_world=Decimal("1.49"),
            rate_data_world_mb=Decimal("0.49"),
        )
        session.add(t)
        tariffs[code] = t
    handsets = []
    for sku, maker, name, price, _tac in HANDSETS:
        p = Product(
            sku=sku,
            kind=ProductKind.handset,
            manufacturer=maker,
            name=name,
            list_price=Decimal(price),
        )
        session.add(p)
        handsets.append(p)
    for sku, maker, name, price in ACCESSORIES:
        session.add(
            Product(
                sku=sku,
                kind=ProductKind.accessory,
                manufacturer=maker,
                name=name,
                list_price=Decimal(price),
            )
        )
    session.flush()
    return tariffs, handsets


def load_fleet(
    session: Session,
    customer: Customer,
    line_count: int,
    tariffs: dict[str, TariffPlan],
    handsets: list[Product],
    *,
    seed: int,
    domain: str,
    numbers: _Numbers,
) -> int:
    rng = random.Random(seed)
    fake = Faker("pl_PL")
    fake.seed_instance(seed)
    units = list(session.scalars(select(OrgUnit).where(OrgUnit.customer_id == customer.id)))
    parents = {u.parent_id for u in units}
    leaves = [u for u in units if u.id not in parents] or units
    weights = [3 if "Sprzedaż" in u.path or u.depth >= 3 else 1 for u in leaves]

    employees: list[dict] = []
    emails: set[str] = set()
    people = int(line_count * 0.9)
    for _ in range(people):
        first, last = fake.first_name(), fake.last_name()
        email = f"{_ascii(first)}.{_ascii(last)}@{domain}"
        n = 2
        while email in emails:
            email = f"{_ascii(first)}.{_ascii(last)}{n}@{domain}"
            n += 1
        emails.add(email)
        unit = rng.choices(leaves, weights)[0]
        employees.append(
            {
                "customer_id": customer.id,
                "unit_id": unit.id,
                "full_name": f"{first} {last}",
                "email": email,
                "position": rng.choice(POSITIONS),
                "phonebook_hidden": rng.random() < 0.03,
                "created_at": utcnow(),
                "updated_at": utcnow(),
            }
        )
    session.execute(insert(Employee), employees)
    emp_rows = list(
        session.execute(
            select(Employee.id, Employee.unit_id)
            .where(Employee.customer_id == customer.id)
            .order_by(Employee.id)
        )
    )
    unit_by_id = {u.id: u for u in units}
    main_codes = list(TARIFF_WEIGHTS)
    main_weights = list(TARIFF_WEIGHTS.values())
    now = utcnow()
    since = demo_start(local_today())  # active through the demo usage months (billed)
    lines: list[dict] = []

    def add_line(employee_id, unit, tariff_code, handset):
        iccid, imsi = numbers.sim()
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
        tac = next(h[4] for h in HANDSETS if h[0] == handset.sku) if handset else None
        lines.append(
            {
                "customer_id": customer.id,
                "unit_id": unit.id,
                "unit_path": unit.path,
                "msisdn": numbers.msisdn(),
                "status": status,
                "tariff_id": tariffs[tariff_code].id,
                "employee_id": employee_id,
                "iccid": iccid,
                "imsi": imsi,
                "pin1": f"{rng.randrange(10**4):04d}",
                "puk1": f"{rng.randrange(10**8):08d}",
                "pin2": f"{rng.randrange(10**4):04d}",
                "puk2": f"{rng.randrange(10**8):08d}",
                "handset_id": handset.id if handset else None,
                "imei": numbers.imei(tac) if tac else None,
                "monthly_limit": rng.choice(
                    [
                        None,
                        Decimal("150.00"),
                        Decimal("250.00"),
                        Decimal("400.00"),
                        Decimal("600.00"),
                    ]
                ),
                "activated_at": since,
                "terminated_at": now if status == LineStatus.terminated else None,
                "svc_roaming": rng.random() < 0.22,
                "svc_data": rng.random() < 0.98,
                "svc_intl_calls": rng.random() < 0.15,
                "svc_premium_barring": rng.random() < 0.9,
                "svc_location": rng.random() < 0.05,
                "created_at": since,
                "updated_at": now,
            }
        )

    for emp_id, unit_id in emp_rows:
        handset = rng.choices(handsets, HANDSET_WEIGHTS)[0]
        add_line(emp_id, unit_by_id[unit_id], rng.choices(main_codes, main_weights)[0], handset)
        if len(lines) >= line_count:
            break
    tablet = next(h for h in handsets if h.sku == "SAM-TABS10")
    while len(lines) < line_count:
        roll = rng.random()
        unit = rng.choices(leaves, weights)[0]
        if roll < 0.5:  # a tablet for someone
            emp_id, emp_unit = rng.choice(emp_rows)
            add_line(emp_id, unit_by_id[emp_unit], "DATA-50", tablet)
        elif roll < 0.8:  # telemetry in vans, terminals
            add_line(None, unit, "M2M-1", None)
        else:  # spare lines kept by the unit
            add_line(None, unit, "BIZ-S", None)
    for i in range(0, len(lines), 1000):
        session.execute(insert(Line), lines[i : i + 1000])
    return len(lines)


def load_fleets(session: Session, customers: dict[str, Customer]) -> str:
    tariffs, handsets = load_catalogue(session)
    numbers = _Numbers(random.Random(48))
    numbers.msisdns.add("+48601200300")  # reserved for the demo employee
    sizes = {"polmarket": 5200, "transkom": 320, "nowak": 8}
    domains = {
        "polmarket": "polmarket.example",
        "transkom": "transkom.example",
        "nowak": "nowak.example",
    }
    made = {}
    for i, (key, customer) in enumerate(customers.items()):
        made[key] = load_fleet(
            session,
            customer,
            sizes[key],
            tariffs,
            handsets,
            seed=100 + i,
            domain=domains[key],
            numbers=numbers,
        )
    _link_demo_employee(session, customers["polmarket"], tariffs, handsets, numbers)
    return (
        f"Fleets: Polmarket {made['polmarket'] + 1} lines, Transkom {made['transkom']}, "
        f"Nowak {made['nowak']}."
    )


def _link_demo_employee(session, polmarket, tariffs, handsets, numbers: _Numbers) -> None:
    """Jan Kowalski, the demo employee: one line with a phone, in Sales."""
    user = session.scalar(
        select(PortalUser).where(PortalUser.email == "jan.kowalski@polmarket.example")
    )
    unit = session.scalar(
        select(OrgUnit).where(OrgUnit.customer_id == polmarket.id, OrgUnit.name == "Region Centrum")
    )
    emp = Employee(
        customer_id=polmarket.id,
        unit_id=unit.id,
        full_name="Jan Kowalski",
        email="jan.kowalski@polmarket.example",
        position="Przedstawiciel handlowy",
    )
    session.add(emp)
    session.flush()
    user.employee_id = emp.id
    phone = next(h for h in handsets if h.sku == "SAM-S25-256")
    iccid, imsi = numbers.sim()
    session.add(
        Line(
            customer_id=polmarket.id,
            unit_id=unit.id,
            unit_path=unit.path,
            msisdn="+48601200300",
            status=LineStatus.active,
            tariff_id=tariffs["BIZ-M"].id,
            employee_id=emp.id,
            iccid=iccid,
            imsi=imsi,
            pin1="1234",
            puk1="12345678",
            pin2="4321",
            puk2="87654321",
            handset_id=phone.id,
            imei=numbers.imei("35066583"),
            monthly_limit=Decimal("300.00"),
            activated_at=utcnow(),
            svc_roaming=False,
        )
    )
    session.flush()
