"""The data of the ordering benchmarks (``drain``, ``order``), apart from the fleet's.

PostgreSQL: schema ``bench_orders`` of the bench database (never ``bench``, which the fleet
parts use); SQLite: ``bench/data/orders.sqlite3``. On top of the demo data (three customers,
5,529 lines, the catalogue, two warehouses, contracts, portal users with the bench password):

- 60,000 past orders with 180,000 positions over two years (completed, some cancelled or
  failed), so the order tables and their indexes hold what a few years of a real portal would;
- 20,000 free numbers in the pool;
- the back-order queue of the sold-out iPhone 16 Pro (``APL-IP16P-256``): 10,000 positions of
  one unit each in 4,000-odd orders of the three customers, placed by their fleet
  administrators over the last 30 days — single phones, a few phones, and handset exchanges
  of up to 20 lines of the customer's fleet. Their orders are numbered ``D/…``; the demo's own
  waiting orders for the phone are cancelled so that the queue is exactly these 10,000.

Polmarket's contract has no approval threshold here, so that a measured order goes ahead
(queues, activations) instead of waiting for an approver. Deterministic (seed 6000); a marker
``bench/data/orders-<db>.json`` records the version, and the data is reused while it matches.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from bench.common import (
    DATA_DIR,
    PASSWORD,
    Stopwatch,
    Target,
    log,
    own_target,
    reset,
)
from core import aftercommit, crypto, migrate
from core.db import make_engine
from models import (
    ContractVersion,
    Customer,
    Line,
    LineKind,
    LineStatus,
    NumberStatus,
    Order,
    OrderLine,
    OrderLineState,
    OrderState,
    PoolNumber,
    PortalRole,
    PortalUser,
    Product,
)
from models.base import utcnow

VERSION = 1
SEED = 6000
SCHEMA = "bench_orders"
DRAIN_SKU = "APL-IP16P-256"
DRAIN_PREFIX = "D/"
DRAIN_LINES = 10_000
PAST_ORDERS = 60_000
POOL = 20_000
ADMIN_EMAIL = "admin@polmarket.example"  # the fleet administrator who orders in the bench
# The PostgreSQL backends of these parts, told apart from other benchmarks' on the same server.
APPLICATION_NAME = "asystent-bench-orders"


def orders_target(name: str) -> Target:
    """Like ``bench.common.target`` but on the ordering benchmarks' own schema or file."""
    return own_target(name, "orders.sqlite3", SCHEMA)


@dataclass
class OrdersData:
    version: int
    drain_product_id: int
    drain_lines: int
    past_orders: int
    past_lines: int
    admin_email: str
    password: str
    generated_in_s: float = 0.0

    def describe(self) -> str:
        return (
            f"demo data + {self.past_orders:,} past orders ({self.past_lines:,} positions), "
            f"{POOL:,} pool numbers, a back-order queue of {self.drain_lines:,} positions"
        )


def _marker(tgt: Target):
    return DATA_DIR / f"orders-{tgt.name}.json"


def existing(tgt: Target) -> OrdersData | None:
    path = _marker(tgt)
    if not path.exists():
        return None
    data = OrdersData(**json.loads(path.read_text()))
    if data.version != VERSION:
        return None
    engine = make_engine(tgt.url)
    try:
        with Session(engine) as s:
            found = s.scalar(
                select(func.count()).select_from(Order).where(Order.number.like("D/%"))
            )
    except Exception:  # no schema or no file: generate
        return None
    finally:
        engine.dispose()
    return data if found else None


def ensure(tgt: Target, *, force: bool = False) -> tuple[OrdersData, bool]:
    """(data, reused)."""
    if not force and (found := existing(tgt)) is not None:
        log(f"{tgt.name}: reusing the ordering data")
        return found, True
    log(f"{tgt.name}: generating the ordering data")
    with Stopwatch() as watch:
        data = _generate(tgt)
    data.generated_in_s = round(watch.seconds, 1)
    _marker(tgt).write_text(json.dumps(asdict(data), indent=2) + "\n")
    log(f"{tgt.name}: ordering data generated in {watch.seconds:.1f} s")
    return data, False


def _generate(tgt: Target) -> OrdersData:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    reset(tgt)
    settings = tgt.settings()
    migrate.upgrade(settings.database_url)
    crypto.configure(settings.data_key)
    from core.runtime import Runtime
    from services.demo import load_demo

    rt = Runtime(settings)
    engine = rt.db.engine
    rng = random.Random(SEED)
    with rt.db.new_session() as s:
        load_demo(s, PASSWORD)
        aftercommit.discard(s)
        s.execute(update(ContractVersion).values(approval_threshold=None))
        s.commit()
        product = s.scalar(select(Product).where(Product.sku == DRAIN_SKU))
        _cancel_demo_queue(s, product.id)
        _pool(s)
        past_orders, past_lines = _past_orders(s, rng)
        drain_lines = _drain_queue(s, rng, product.id)
        s.commit()
    if tgt.name == "postgres":
        from sqlalchemy import text

        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return OrdersData(
        VERSION, product.id, drain_lines, past_orders, past_lines, ADMIN_EMAIL, PASSWORD
    )


def _cancel_demo_queue(s: Session, product_id: int) -> None:
    ids = list(
        s.scalars(
            select(OrderLine.order_id).where(
                OrderLine.product_id == product_id, OrderLine.state == OrderLineState.waiting
            )
        )
    )
    s.execute(
        update(OrderLine)
        .where(OrderLine.order_id.in_(ids))
        .values(state=OrderLineState.cancelled, cancelled_at=utcnow())
    )
    s.execute(update(Order).where(Order.id.in_(ids)).values(state=OrderState.cancelled))


def _pool(s: Session) -> None:
    taken = set(s.scalars(select(PoolNumber.msisdn)))
    rows = []
    for i in range(POOL):
        msisdn = f"+48799{i:06d}"
        if msisdn not in taken:
            rows.append({"msisdn": msisdn, "status": NumberStatus.free, "is_golden": False})
    s.execute(insert(PoolNumber), rows)


def _people(s: Session):
    """Per customer: its fleet administrator and its active lines."""
    out = []
    for customer in s.scalars(select(Customer).order_by(Customer.id)):
        admin = s.scalar(
            select(PortalUser)
            .where(PortalUser.customer_id == customer.id, PortalUser.role == PortalRole.fleet_admin)
            .order_by(PortalUser.scope_unit_id.is_not(None), PortalUser.id)
            .limit(1)
        )
        lines = list(
            s.scalars(
                select(Line.id).where(
                    Line.customer_id == customer.id, Line.status == LineStatus.active
                )
            )
        )
        out.append((customer.id, admin.id if admin else None, lines))
    return out


def _insert_orders(s: Session, orders: list[dict]) -> list[int]:
    return list(s.scalars(insert(Order).returning(Order.id, sort_by_parameter_order=True), orders))


def _past_orders(s: Session, rng: random.Random) -> tuple[int, int]:
    people = _people(s)
    products = list(s.execute(select(Product.id, Product.list_price, Product.kind)))
    now = utcnow()
    total_lines = 0
    chunk = 5000
    for start in range(0, PAST_ORDERS, chunk):
        orders, lines_of = [], []
        for i in range(start, min(PAST_ORDERS, start + chunk)):
            customer_id, admin_id, _lines = people[rng.choices((0, 1, 2), (70, 25, 5))[0]]
            at = now - timedelta(days=730 * (PAST_ORDERS - i) / PAST_ORDERS, minutes=rng.random())
            roll = rng.random()
            state = (
                OrderState.completed
                if roll < 0.85
                else OrderState.cancelled
                if roll < 0.95
                else OrderState.failed
            )
            positions = []
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4, 5, 8))):
                pid, price, _kind = rng.choice(products)
                qty = rng.choice((1, 1, 1, 2, 3, 5, 10))
                positions.append((pid, price, qty))
            total = sum((price * qty for _pid, price, qty in positions), Decimal("0"))
            orders.append(
                {
                    "number": f"H/{i:07d}",
                    "customer_id": customer_id,
                    "state": state,
                    "placed_by_id": admin_id,
                    "channel": "portal",
                    "total_net": total,
                    "released_at": at,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            lines_of.append((customer_id, state, at, positions))
        ids = _insert_orders(s, orders)
        rows = []
        for order_id, (customer_id, state, at, positions) in zip(ids, lines_of, strict=True):
            line_state = {
                OrderState.completed: OrderLineState.completed,
                OrderState.cancelled: OrderLineState.cancelled,
                OrderState.failed: OrderLineState.failed,
            }[state]
            for pid, price, qty in positions:
                done = line_state == OrderLineState.completed
                rows.append(
                    {
                        "order_id": order_id,
                        "customer_id": customer_id,
                        "kind": LineKind.handset,
                        "state": line_state,
                        "product_id": pid,
                        "quantity": qty,
                        "allocated_qty": qty if done else 0,
                        "shipped_qty": qty if done else 0,
                        "unit_price": price,
                        "list_price": price,
                        "params": {},
                        "queued_at": at,
                        "completed_at": at + timedelta(days=2) if done else None,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
        s.execute(insert(OrderLine), rows)
        total_lines += len(rows)
    return PAST_ORDERS, total_lines


def _drain_queue(s: Session, rng: random.Random, product_id: int) -> int:
    """10,000 waiting positions of one unit for the sold-out phone, oldest first."""
    people = _people(s)
    price = s.scalar(select(Product.list_price).where(Product.id == product_id))
    now = utcnow()
    start = now - timedelta(days=30)
    step = timedelta(days=30) / DRAIN_LINES
    plan = []  # (customer, admin, [line_id or None, …])
    unused = {c: list(lines) for c, _a, lines in people}
    for lines in unused.values():
        rng.shuffle(lines)
    made = 0
    while made < DRAIN_LINES:
        customer_id, admin_id, _lines = people[rng.choices((0, 1, 2), (70, 25, 5))[0]]
        roll = rng.random()
        if roll < 0.5:
            size, exchange = 1, False
        elif roll < 0.8:
            size, exchange = rng.randint(2, 5), False
        else:
            size, exchange = rng.randint(2, 20), True
        if exchange and len(unused[customer_id]) < size:
            exchange = False
        size = min(size, DRAIN_LINES - made)
        targets = [unused[customer_id].pop() for _ in range(size)] if exchange else [None] * size
        plan.append((customer_id, admin_id, targets))
        made += size
    orders, position = [], 0
    for n, (customer_id, admin_id, targets) in enumerate(plan):
        at = start + step * position  # placed when its first position joined the queue
        position += len(targets)
        orders.append(
            {
                "number": f"{DRAIN_PREFIX}{n:07d}",
                "customer_id": customer_id,
                "state": OrderState.inProgress,
                "placed_by_id": admin_id,
                "channel": "portal",
                "total_net": price * len(targets),
                "released_at": at,
                "created_at": at,
                "updated_at": at,
            }
        )
    ids = _insert_orders(s, orders)
    rows, position = [], 0
    for order_id, (customer_id, _admin, targets) in zip(ids, plan, strict=True):
        for target_line in targets:
            at = start + step * position
            rows.append(
                {
                    "order_id": order_id,
                    "customer_id": customer_id,
                    "kind": LineKind.exchange if target_line else LineKind.handset,
                    "state": OrderLineState.waiting,
                    "product_id": product_id,
                    "line_id": target_line,
                    "quantity": 1,
                    "allocated_qty": 0,
                    "shipped_qty": 0,
                    "unit_price": price,
                    "list_price": price,
                    "params": {},
                    "queued_at": at,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            position += 1
    s.execute(insert(OrderLine), rows)
    return len(rows)
