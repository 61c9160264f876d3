"""Demo contracts with individual prices, and orders already waiting for a sold-out phone."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import PortalUser, Product, StaffUser, TariffPlan
from models.base import utcnow
from services import contracts, orders
from services.audit import Actor
from services.fleet import FleetScope

# Polmarket's negotiated prices (net PLN); everything else on the contract at a discount.
POLMARKET_PRICES = {"BIZ-S": "24.99", "BIZ-M": "39.99", "BIZ-L": "64.99", "BIZ-MAX": "99.00"}


def load_commerce(session: Session, customers: dict) -> str:
    manager = session.scalar(select(StaffUser).where(StaffUser.email == "opiekun@operator.example"))
    actor = Actor("staff", manager.id, manager.email)
    today = utcnow().date()
    tariffs = {t.code: t for t in session.scalars(select(TariffPlan))}
    products = {p.sku: p for p in session.scalars(select(Product))}

    pm = contracts.create_draft(
        session,
        actor,
        customers["polmarket"],
        valid_from=today - timedelta(days=200),
        valid_to=today + timedelta(days=530),
        staff_user_id=manager.id,
    )
    v1 = contracts.versions(session, pm)[0]
    contracts.update_terms(
        session,
        actor,
        pm,
        v1,
        subsidy_budget=Decimal("150000"),
        approval_threshold=Decimal("20000"),
        repair_time_hours=48,
        response_time_hours=4,
        tariff_discount_percent=Decimal("10"),
        handset_discount_percent=Decimal("8"),
        accessory_discount_percent=Decimal("15"),
        note="Umowa ramowa na usługi mobilne i sprzęt.",
        valid_to=pm.valid_to,
    )
    for code, price in POLMARKET_PRICES.items():
        contracts.set_item(session, actor, pm, v1, tariff=tariffs[code], price=Decimal(price))
    for code in ("DATA-50", "M2M-1"):
        contracts.set_item(session, actor, pm, v1, tariff=tariffs[code])
    for sku, product in products.items():
        if sku == "APL-IP16P-256":
            contracts.set_item(session, actor, pm, v1, product=product, price=Decimal("4999.00"))
        else:
            contracts.set_item(session, actor, pm, v1, product=product)
    contracts.activate(session, actor, pm)

    tk = contracts.create_draft(
        session,
        actor,
        customers["transkom"],
        valid_from=today - timedelta(days=60),
        valid_to=None,
        staff_user_id=manager.id,
    )
    tv1 = contracts.versions(session, tk)[0]
    for code in ("BIZ-S", "BIZ-M", "M2M-1"):
        contracts.set_item(
            session, actor, tk, tv1, tariff=tariffs[code], discount_percent=Decimal("5")
        )
    for sku in ("SAM-A56-128", "MOT-G85-256", "APL-IP16P-256", "ACC-USBC-25W"):
        contracts.set_item(session, actor, tk, tv1, product=products[sku])
    contracts.activate(session, actor, tk)

    admin = session.scalar(select(PortalUser).where(PortalUser.email == "admin@polmarket.example"))
    admin.can_approve_orders = True
    waiting = 0
    for key, email, qty in (
        ("polmarket", "admin@polmarket.example", 3),
        ("transkom", "admin@transkom.example", 2),
        ("polmarket", "it@polmarket.example", 1),
    ):
        user = session.scalar(select(PortalUser).where(PortalUser.email == email))
        scope = FleetScope(
            user.customer_id, unit_path=user.scope_unit.path if user.scope_unit else None
        )
        orders.place_order(
            session,
            Actor("portal", user.id, user.email),
            customers[key],
            scope,
            [orders.CartItem("handset", quantity=qty, product_id=products["APL-IP16P-256"].id)],
            placed_by=user,
        )
        waiting += qty
    return (
        f"Contracts: Polmarket {pm.number}, Transkom {tk.number}; Nowak on the standard "
        f"offer. {waiting} iPhone 16 Pro units wait in the back-order queue."
    )
