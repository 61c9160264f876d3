"""Factories for fleet data (tariffs, products, employees, lines)."""

from __future__ import annotations

import itertools
from decimal import Decimal

from models import Employee, Line, LineStatus, OrgUnit, Product, ProductKind, TariffPlan
from services.demo.fleet import luhn_digit

_seq = itertools.count(1)


def make_tariff(session, code=None, name=None, fee="49.99") -> TariffPlan:
    n = next(_seq)
    t = TariffPlan(
        code=code or f"T{n}",
        name=name or f"Taryfa {n}",
        monthly_fee=Decimal(fee),
        included_data_mb=10240,
    )
    session.add(t)
    session.flush()
    return t


def make_handset(session, name=None, price="1999.00") -> Product:
    n = next(_seq)
    p = Product(
        sku=f"H{n}",
        kind=ProductKind.handset,
        manufacturer="Test",
        name=name or f"Telefon {n}",
        list_price=Decimal(price),
    )
    session.add(p)
    session.flush()
    return p


def make_employee(session, customer, unit: OrgUnit | None = None, name=None, **kw) -> Employee:
    n = next(_seq)
    e = Employee(
        customer_id=customer.id,
        unit_id=unit.id if unit else None,
        full_name=name or f"Pracownik {n}",
        email=kw.pop("email", f"p{n}@firma.example"),
        position=kw.pop("position", "Specjalista"),
        **kw,
    )
    session.add(e)
    session.flush()
    return e


def make_line(
    session, customer, unit: OrgUnit, tariff: TariffPlan, employee=None, handset=None, **kw
) -> Line:
    n = next(_seq)
    iccid_body = f"894801{900000000000 + n:012d}"
    imei = None
    if handset is not None:
        body = f"35066583{n % 10**6:06d}"
        imei = body + luhn_digit(body)
    line = Line(
        customer_id=customer.id,
        unit_id=unit.id,
        unit_path=unit.path,
        msisdn=kw.pop("msisdn", f"+4860{n:07d}"),
        status=kw.pop("status", LineStatus.active),
        tariff_id=tariff.id,
        employee_id=employee.id if employee else None,
        iccid=iccid_body + luhn_digit(iccid_body),
        imsi=f"26001{900000000 + n:010d}",
        pin1="1111",
        puk1="11112222",
        pin2="2222",
        puk2="22223333",
        handset_id=handset.id if handset else None,
        imei=imei,
        **kw,
    )
    session.add(line)
    session.flush()
    return line
