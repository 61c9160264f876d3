"""Demo data: a deterministic operator with staff and three business customers.

``load_demo`` builds everything through the same services the apps use. Sized so that
``make run`` is quick; the large data sets for measurements live in ``bench/``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import aftercommit
from models import Customer
from services.demo.commerce import load_commerce
from services.demo.fleet import load_fleets
from services.demo.people import load_people
from services.demo.records import load_records
from services.demo.stock import load_stock


def load_demo(session: Session, password: str, *, if_empty: bool = False) -> str:
    if session.scalar(select(Customer.id).limit(1)) is not None:
        if if_empty:
            return "The database already has customers; demo data not loaded."
        raise SystemExit("The database already has customers; load the demo into an empty one.")
    customers, report = load_people(session, password)
    report += "\n" + load_fleets(session, customers)
    report += "\n" + load_stock(session)
    report += "\n" + load_commerce(session, customers)
    report += "\n" + load_records(session, customers)
    session.flush()
    # Nothing needs a job now (no stock for the waiting orders); the sweeps look after the
    # rest once a worker runs, so loading the demo does not need Redis.
    aftercommit.discard(session)
    return report
