"""Demo customer records: the people the operator talks to at each customer (decision maker,
fleet administrator, finance), mail templates the account managers start from, a few service
requests — some open, some past their deadline, one resolved — and one network change the
network refused, for the console's provisioning queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrations.network import NetworkRejected
from models import Line, ServiceRequest, StaffUser
from models.base import utcnow
from services import customer_records, mail_templates, provisioning, service_requests
from services.audit import Actor
from services.customer_records import ContactData

CONTACTS = {
    "polmarket": [
        (
            "Anna Zawadzka",
            "decision_maker",
            "Dyrektor ds. administracji",
            "anna.zawadzka@polmarket.example",
            "+48 22 555 01 10",
        ),
        (
            "Anna Malinowska",
            "fleet_admin",
            "Kierowniczka działu administracji IT",
            "admin@polmarket.example",
            "+48 601 200 300",
        ),
        (
            "Ewa Kamińska",
            "finance",
            "Główna księgowa",
            "finanse@polmarket.example",
            "+48 22 555 01 40",
        ),
    ],
    "transkom": [
        (
            "Jerzy Malinowski",
            "decision_maker",
            "Prezes zarządu",
            "j.malinowski@transkom.example",
            "+48 61 850 20 00",
        ),
        (
            "Robert Kaczmarek",
            "fleet_admin",
            "Specjalista ds. floty",
            "admin@transkom.example",
            "+48 602 410 520",
        ),
        ("Paweł Sikora", "finance", "Kontroler finansowy", "ksiegowosc@transkom.example", None),
    ],
    "nowak": [
        (
            "Stanisław Nowak",
            "decision_maker",
            "Wspólnik",
            "stanislaw@nowak.example",
            "+48 12 430 11 22",
        ),
        ("Barbara Nowak", "fleet_admin", "Wspólniczka", "admin@nowak.example", "+48 603 118 224"),
        ("Krystyna Mazur", "finance", "Księgowa", "biuro@nowak.example", "+48 12 430 11 23"),
    ],
}

TEMPLATES = [
    (
        "Powitanie nowego klienta",
        "Witamy w Asystencie, {customer_name}",
        "Dzień dobry {contact_name},\n\n"
        "dziękujemy za wybór naszej oferty dla firm. W portalu {portal_url} zarządzą Państwo "
        "flotą telefonów, zamówieniami i fakturami.\n\n"
        "W razie pytań proszę pisać na {manager_email}.\n\n"
        "Z poważaniem\n{manager_name}",
    ),
    (
        "Przypomnienie o końcu umowy",
        "{customer_name}: umowa ramowa wkrótce wygasa",
        "Dzień dobry {contact_name},\n\n"
        "umowa ramowa firmy {customer_name} (nr klienta {customer_number}) zbliża się do "
        "końca. Chętnie przygotuję propozycję przedłużenia na nowych warunkach.\n\n"
        "Pozdrawiam\n{manager_name}\n{manager_email}",
    ),
    (
        "Prace serwisowe w sieci",
        "Planowane prace serwisowe — informacja dla {customer_name}",
        "Dzień dobry {contact_name},\n\n"
        "w nocy z soboty na niedzielę, w godzinach 1:00–4:00, prowadzimy prace w sieci. "
        "Możliwe są krótkie przerwy w transmisji danych.\n\n"
        "Przepraszamy za utrudnienia.\n{manager_name}",
    ),
]

# (customer key, category, subject, description, hours since opened, state)
REQUESTS = [
    (
        "polmarket",
        "repair",
        "Telefon nie włącza się",
        "Po aktualizacji telefon nie uruchamia się; pracownik jest w delegacji.",
        60,
        "inProgress",
    ),
    (
        "polmarket",
        "sim_replacement",
        "Zniszczona karta SIM",
        "Karta SIM uszkodzona mechanicznie, prosimy o duplikat.",
        6,
        "acknowledged",
    ),
    (
        "polmarket",
        "billing",
        "Pytanie o fakturę za październik",
        "Na fakturze pojawiły się opłaty za roaming, o który nie prosiliśmy.",
        30,
        "resolved",
    ),
    (
        "transkom",
        "repair",
        "Brak zasięgu w magazynie",
        "W magazynie w Swarzędzu telefony tracą zasięg.",
        100,
        "acknowledged",
    ),
    (
        "transkom",
        "other",
        "Zmiana osoby kontaktowej",
        "Prosimy o dodanie nowego administratora floty.",
        2,
        "acknowledged",
    ),
    (
        "nowak",
        "billing",
        "Duplikat faktury",
        "Prosimy o ponowne przesłanie faktury za wrzesień.",
        80,
        "acknowledged",
    ),
]


class _BarredSubscriber:
    """Stands in for the network once, while the demo loads: it refuses a change the way an
    HLR refuses a barred subscriber, so the console's provisioning queue has a failure to show."""

    def apply(self, request_ref: str, imsi: str, action: str, params: dict) -> str:
        raise NetworkRejected("subscriber barred by the fraud-control system")


def _failed_provisioning(session: Session, customer) -> None:
    line = session.scalar(
        select(Line).where(Line.customer_id == customer.id).order_by(Line.id.desc()).limit(1)
    )
    req = provisioning.request_change(
        session,
        Actor("portal", None, "admin@transkom.example"),
        line,
        "set_service",
        {"service": "roaming", "on": True},
        enqueue=False,
    )
    claimed = provisioning.claim_next(session, line.id)
    assert claimed is not None and claimed.id == req.id
    provisioning.carry_out(session, claimed, _BarredSubscriber())


def load_records(session: Session, customers: dict) -> str:
    manager = session.scalar(select(StaffUser).where(StaffUser.email == "opiekun@operator.example"))
    actor = Actor("staff", manager.id, manager.email)
    contacts = 0
    for key, people in CONTACTS.items():
        for name, role, position, email, phone in people:
            customer_records.add_contact(
                session,
                actor,
                customers[key],
                ContactData(full_name=name, role=role, email=email, phone=phone, position=position),
            )
            contacts += 1
    for name, subject, body in TEMPLATES:
        mail_templates.create_template(session, actor, name, subject, body)

    now = utcnow()
    overdue = 0
    for key, category, subject, description, hours_ago, state in REQUESTS:
        customer = customers[key]
        line = (
            session.scalar(
                select(Line).where(Line.customer_id == customer.id).order_by(Line.id).limit(1)
            )
            if category in ("repair", "sim_replacement")
            else None
        )
        req = service_requests.open_request(
            session,
            actor,
            customer,
            category=category,
            subject=subject,
            description=description,
            line=line,
            now=now - timedelta(hours=hours_ago),
        )
        if state != "acknowledged":
            when = now - timedelta(hours=max(hours_ago - 1, 0))
            service_requests.change_state(
                session, actor, req, "inProgress", "Przyjęte, zajmujemy się tym.", now=when
            )
            if state == "resolved":
                service_requests.change_state(
                    session, actor, req, "resolved", "Korekta faktury wysłana.", now=now
                )
        overdue += req.is_overdue(now)
    _failed_provisioning(session, customers["transkom"])
    total = session.scalar(select(func.count()).select_from(ServiceRequest))
    return (
        f"{contacts} customer contacts, {len(TEMPLATES)} mail templates, "
        f"{total} service requests ({overdue} overdue); one roaming change refused by "
        "the network in the provisioning queue."
    )
