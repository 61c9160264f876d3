"""Demo staff, customers, department trees and portal users."""

from __future__ import annotations

import pyotp
from faker import Faker

from models import OrgUnit, PortalRole, PortalUser, StaffRole, StaffUser
from services import passwords
from services.audit import Actor
from services.customers import create_customer
from services.orgtree import add_unit

SEED = 2026
# Printed on load; fixed so the demo operator admin can be added to an authenticator once.
DEMO_TOTP_SECRET = "ASYSTENTDEMOADMINTOTPKEYSECRET22"  # noqa: S105 - documented demo secret

POLMARKET_DIVISIONS = {
    "Sprzedaż": [
        "Region Północ",
        "Region Południe",
        "Region Wschód",
        "Region Zachód",
        "Region Centrum",
        "Sieć sklepów",
    ],
    "Logistyka": [
        "Magazyn Stryków",
        "Magazyn Gądki",
        "Magazyn Sosnowiec",
        "Transport",
        "Planowanie dostaw",
    ],
    "IT": ["Infrastruktura", "Aplikacje", "Wsparcie użytkowników", "Bezpieczeństwo"],
    "Finanse": ["Księgowość", "Controlling", "Skarbowość"],
    "Kadry": ["Rekrutacja", "Płace", "Szkolenia"],
    "Marketing": ["Marka", "E-commerce", "Komunikacja"],
}
TEAM_NAMES = [f"Zespół {c}" for c in "ABCDEFG"]


def _staff(session, email, name, role, password_hash, **extra) -> StaffUser:
    user = StaffUser(email=email, full_name=name, role=role, password_hash=password_hash, **extra)
    session.add(user)
    return user


def _portal(session, customer, email, name, role, password_hash, scope_unit=None) -> PortalUser:
    user = PortalUser(
        customer_id=customer.id,
        email=email,
        full_name=name,
        role=role,
        password_hash=password_hash,
        scope_unit_id=scope_unit.id if scope_unit else None,
    )
    session.add(user)
    return user


def _cost_centre(prefix: str, n: int) -> str:
    return f"{prefix}-{n:04d}"


def load_people(session, password: str) -> tuple[dict, str]:
    fake = Faker("pl_PL")
    fake.seed_instance(SEED)
    pw = passwords.hash_password(password)
    actor = Actor.system("demo")

    manager = _staff(
        session, "opiekun@operator.example", "Katarzyna Wiśniewska", StaffRole.account_manager, pw
    )
    _staff(session, "opiekun2@operator.example", "Tomasz Zieliński", StaffRole.account_manager, pw)
    _staff(session, "sprzedaz@operator.example", "Monika Lewandowska", StaffRole.sales_admin, pw)
    _staff(
        session,
        "admin@operator.example",
        "Piotr Nowicki",
        StaffRole.operator_admin,
        pw,
        totp_secret=DEMO_TOTP_SECRET,
        totp_enabled=True,
    )
    session.flush()

    polmarket = create_customer(
        session,
        actor,
        name="Polmarket S.A.",
        nip="5260250274",
        regon="012345675",
        street="ul. Marszałkowska 100",
        postal_code="00-026",
        city="Warszawa",
        account_manager_id=manager.id,
    )
    transkom = create_customer(
        session,
        actor,
        name="Transkom Sp. z o.o.",
        nip="7792329563",
        regon=None,
        street="ul. Głogowska 31",
        postal_code="60-702",
        city="Poznań",
        account_manager_id=manager.id,
    )
    nowak = create_customer(
        session,
        actor,
        name="Biuro Rachunkowe Nowak",
        nip="6762495865",
        regon=None,
        street="ul. Długa 12/4",
        postal_code="31-147",
        city="Kraków",
    )

    # Polmarket: 4 levels, > 200 units.
    counter = 0
    root = add_unit(session, polmarket.id, "Polmarket S.A.", cost_centre="PM-0000")
    divisions: dict[str, OrgUnit] = {}
    for division, departments in POLMARKET_DIVISIONS.items():
        counter += 1
        div = add_unit(session, polmarket.id, division, root, _cost_centre("PM", counter * 100))
        divisions[division] = div
        for department in departments:
            counter += 1
            dep = add_unit(
                session, polmarket.id, department, div, _cost_centre("PM", counter * 100)
            )
            for team in TEAM_NAMES + (
                [f"Zespół {c}" for c in "HIJ"] if division == "Sprzedaż" else []
            ):
                counter += 1
                add_unit(session, polmarket.id, team, dep, _cost_centre("PM", counter * 100))
    polmarket_units = counter + 1

    # Transkom: 3 levels.
    t_root = add_unit(session, transkom.id, "Transkom Sp. z o.o.", cost_centre="TK-000")
    t_count = 1
    for i, name in enumerate(["Spedycja", "Flota", "Biuro", "Serwis"], start=1):
        dep = add_unit(session, transkom.id, name, t_root, f"TK-{i}00")
        t_count += 1
        for j in range(1, 4):
            add_unit(session, transkom.id, f"{name} {j}", dep, f"TK-{i}{j:02d}")
            t_count += 1

    # Nowak: flat.
    n_root = add_unit(session, nowak.id, "Biuro Rachunkowe Nowak", cost_centre="BN-1")
    add_unit(session, nowak.id, "Księgowość", n_root, "BN-2")

    _portal(
        session, polmarket, "admin@polmarket.example", "Anna Malinowska", PortalRole.fleet_admin, pw
    )
    _portal(
        session,
        polmarket,
        "it@polmarket.example",
        "Marek Wójcik",
        PortalRole.fleet_admin,
        pw,
        scope_unit=divisions["IT"],
    )
    _portal(
        session,
        polmarket,
        "jan.kowalski@polmarket.example",
        "Jan Kowalski",
        PortalRole.employee,
        pw,
    )
    _portal(session, polmarket, "finanse@polmarket.example", "Ewa Kamińska", PortalRole.viewer, pw)
    _portal(
        session, transkom, "admin@transkom.example", "Robert Kaczmarek", PortalRole.fleet_admin, pw
    )
    _portal(session, nowak, "admin@nowak.example", "Barbara Nowak", PortalRole.fleet_admin, pw)
    session.flush()

    code = pyotp.TOTP(DEMO_TOTP_SECRET)
    customers = {"polmarket": polmarket, "transkom": transkom, "nowak": nowak}
    return customers, (
        f"Demo loaded: 3 customers (Polmarket {polmarket_units} units, Transkom {t_count}, "
        f"Nowak 2), 4 staff users, 6 portal users.\n"
        f"Operator admin two-step secret (add to an authenticator app): {DEMO_TOTP_SECRET}\n"
        f"  or use the current code: {code.now()} (changes every 30 s)"
    )
