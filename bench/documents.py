"""Printed documents: the PDF of the usage report's unit summary, the invoice PDF/A-3b, and the
billing-detail appendix (PDF) with its XLSX.

Data (built once per database, kept while ``--lines`` stays the same):

- "Bench Documents S.A.": a tree of 1,111 units (10 × 10 × 10 under a root); half of the
  1,000 teams have a cost centre (500), and ``--lines`` lines (default 5,000, each with an
  employee) sit in those teams; October and November 2026 of daily usage totals written
  straight into ``usage_daily`` with its monthly rollup (what the reports read), a few rows
  per line and month. Its November invoice bills every line: a monthly fee each, usage for
  about two lines in three, a handset for one in fifty — the invoice of the detail appendix.
- "Bench Documents Duży S.A.": an October invoice of 50,000 numbers in 500 cost centres (a fee
  and usage per number, about 72,000 invoice lines), whose PDF prints summary lines and the
  summary by cost centre.

PostgreSQL: schema ``bench_documents`` of the ``test`` database; SQLite:
``bench/data/documents.sqlite3``.

    .venv/bin/python -m bench.documents                 # both databases
    .venv/bin/python -m bench.documents --db sqlite

Each figure is wall time and CPU time — of this process, the rendering processes it forked
(waited for, so counted in RUSAGE_CHILDREN) and, on PostgreSQL, its database backends — with
the load average before and after. Figures go to ``bench/data/documents-<db>.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import time
from datetime import date
from decimal import Decimal

from sqlalchemy import func, insert, select, text

from bench.common import DATA_DIR, Target, log, own_target, postgres_reachable, reset
from bench.cpu import process_cpu
from core import migrate
from core.runtime import Runtime
from models import Customer, Employee, Invoice, Line, TariffPlan, UsageDaily
from services import invoices, usage_rollup
from services.audit import Actor
from services.billing_period import Period as BillingPeriod
from services.fleet_query import FleetScope
from services.invoices import ChargeLine
from services.orgtree import add_unit
from services.reports.period import Period

SCHEMA = "bench_documents"
# Its own name in pg_stat_activity: other benches on the machine run as "asystent-bench".
APPLICATION_NAME = "asystent-bench-documents"
NOVEMBER = Period(date(2026, 11, 1), date(2026, 12, 1))
BIG_NUMBERS = 50_000
BIG_CENTRES = 500
FIRST_NAMES = ("Anna", "Piotr", "Katarzyna", "Tomasz", "Magdalena", "Krzysztof", "Agnieszka")
LAST_NAMES = ("Nowak", "Kowalska", "Wiśniewski", "Wójcik", "Kamińska", "Lewandowski", "Zając")


def documents_target(name: str) -> Target:
    return own_target(name, "documents.sqlite3", SCHEMA, APPLICATION_NAME)


def _marker(name: str):
    return DATA_DIR / f"documents-{name}-data.json"


# --- data -------------------------------------------------------------------------------------


def _customer(s, number: str, name: str, nip: str) -> Customer:
    customer = Customer(
        number=number,
        name=name,
        nip=nip,
        street="ul. Drukarska 3",
        postal_code="00-950",
        city="Warszawa",
    )
    s.add(customer)
    s.flush()
    return customer


def _fleet(s, lines: int, rnd: random.Random) -> tuple[int, list[dict]]:
    customer = _customer(s, "B0000003", "Bench Documents S.A.", "5260250274")
    tariffs = [
        TariffPlan(code=f"BD{i}", name=f"Biznes {i}", monthly_fee=Decimal("49.99"))
        for i in range(4)
    ]
    s.add_all(tariffs)
    s.flush()
    root = add_unit(s, customer.id, "Bench Documents S.A.")
    teams = []
    for a in range(10):
        division = add_unit(s, customer.id, f"Pion {a}", root)
        for b in range(10):
            dept = add_unit(s, customer.id, f"Dział {a}.{b}", division)
            for c in range(10):
                centre = f"CC-{a}{b}{c}" if c < 5 else None
                team = add_unit(s, customer.id, f"Zespół {a}.{b}.{c}", dept, centre)
                if centre:
                    teams.append(team)
    s.flush()
    people = [
        {
            "customer_id": customer.id,
            "unit_id": teams[n % len(teams)].id,
            "full_name": f"{rnd.choice(FIRST_NAMES)} {rnd.choice(LAST_NAMES)}",
            "email": f"osoba{n}@documents.example",
        }
        for n in range(lines)
    ]
    s.execute(insert(Employee), people)
    employee_ids = list(s.scalars(select(Employee.id).where(Employee.customer_id == customer.id)))
    rows = []
    for n in range(lines):
        team = teams[n % len(teams)]
        rows.append(
            {
                "customer_id": customer.id,
                "unit_id": team.id,
                "unit_path": team.path,
                "employee_id": employee_ids[n],
                "msisdn": f"+48720{n:06d}",
                "tariff_id": tariffs[n % 4].id,
                "iccid": f"8948018{n:012d}",
                "imsi": f"26003{n:010d}",
                "svc_roaming": n % 3 == 0,
            }
        )
    s.execute(insert(Line), rows)
    s.flush()
    by_unit = {t.id: t for t in teams}
    found = s.execute(
        select(Line.id, Line.msisdn, Line.unit_id).where(Line.customer_id == customer.id)
    ).all()
    return customer.id, [
        {
            "line_id": r.id,
            "msisdn": r.msisdn,
            "unit_id": r.unit_id,
            "unit_name": by_unit[r.unit_id].name,
            "cost_centre": by_unit[r.unit_id].cost_centre,
        }
        for r in found
    ]


def _usage(s, customer_id: int, lines: list[dict], rnd: random.Random) -> int:
    rows = []
    for month in (10, 11):
        for line in lines:
            for kind, zone, q, c, p in (
                ("voice", "domestic", 3600, 30.0, 0.9),
                ("sms", "domestic", 40, 5.0, 0.5),
                ("data", "domestic", 3_000_000_000, 0.0, 0.9),
                ("data", "eu", 500_000_000, 25.0, 0.05),
                ("voice", "world", 900, 60.0, 0.02),
            ):
                if rnd.random() < p:
                    rows.append(
                        {
                            "line_id": line["line_id"],
                            "customer_id": customer_id,
                            "day": date(2026, month, 1 + rnd.randrange(28)),
                            "kind": kind,
                            "zone": zone,
                            "direction": "out",
                            "quantity": 1 + int(rnd.random() * q),
                            "events": 1 + rnd.randrange(20),
                            "charge": Decimal(int(rnd.random() * c * 100)) / 100,
                        }
                    )
    for i in range(0, len(rows), 20_000):
        s.execute(insert(UsageDaily), rows[i : i + 20_000])
    usage_rollup.refresh(s, customer_id=customer_id)  # the monthly totals the reports read
    return len(rows)


def _charges(line: dict, rnd: random.Random, period: BillingPeriod) -> list[ChargeLine]:
    where = {
        "unit_id": line.get("unit_id"),
        "unit_name": line["unit_name"],
        "cost_centre": line["cost_centre"],
        "line_id": line.get("line_id"),
        "msisdn": line["msisdn"],
        "period_from": period.start,
        "period_to": period.end,
    }
    out = [
        ChargeLine(
            "fee",
            "BD0",
            f"Abonament Biznes 0, {line['msisdn']}",
            Decimal(1),
            Decimal("49.99"),
            Decimal("49.99"),
            **where,
        )
    ]
    if rnd.random() < 0.67:
        minutes = 1 + rnd.randrange(300)
        out.append(
            ChargeLine(
                "usage",
                "usage:voice",
                "Połączenia głosowe krajowe",
                Decimal(minutes),
                Decimal("0.19"),
                Decimal("0.19") * minutes,
                measure="min",
                **where,
            )
        )
    if rnd.random() < 0.1:
        mb = 1 + rnd.randrange(2000)
        out.append(
            ChargeLine(
                "usage",
                "usage:data-eu",
                "Transmisja danych roaming UE",
                Decimal(mb),
                Decimal("0.01"),
                Decimal("0.01") * mb,
                measure="MB",
                **where,
            )
        )
    if rnd.random() < 0.02:
        out.append(
            ChargeLine(
                "one_off",
                "HS-1",
                f"Telefon Fonik 12, {line['msisdn']}",
                Decimal(1),
                Decimal("1499.00"),
                Decimal("1499.00"),
                **where,
            )
        )
    return out


def _invoice(s, customer_id: int, period: BillingPeriod, lines, rnd) -> int:
    customer = s.get(Customer, customer_id)
    invoice = invoices.new_draft(s, customer, period.start, period.end)
    charges = [c for line in lines for c in _charges(line, rnd, period)]
    for i in range(0, len(charges), 10_000):
        invoices.add_lines(s, invoice, charges[i : i + 10_000])
    invoices.issue(s, Actor.system("bench"), invoice, issue_date=period.end)
    return invoice.id


def _big_numbers() -> list[dict]:
    return [
        {
            "msisdn": f"+48730{n:06d}",
            "unit_name": f"Dział {n % BIG_CENTRES // 10}.{n % 10}",
            "cost_centre": f"KC-{n % BIG_CENTRES:04d}",
        }
        for n in range(BIG_NUMBERS)
    ]


def prepare(name: str, lines: int) -> tuple[Target, dict] | None:
    tgt = documents_target(name)
    if name == "postgres" and (reason := postgres_reachable(tgt)):
        log(f"postgres: skipped ({reason})")
        return None
    marker = _marker(name)
    if marker.exists():
        data = json.loads(marker.read_text())
        if data.get("lines") == lines:
            return tgt, data
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    reset(tgt)
    migrate.upgrade(tgt.url)
    rt = Runtime(tgt.settings())
    rnd = random.Random(lines)
    with rt.db.session_scope() as s:
        customer_id, fleet = _fleet(s, lines, rnd)
        usage_rows = _usage(s, customer_id, fleet, rnd)
        detail_id = _invoice(s, customer_id, BillingPeriod.month(2026, 11), fleet, rnd)
        big = _customer(s, "B0000004", "Bench Documents Duży S.A.", "5260250280")
        summary_id = _invoice(s, big.id, BillingPeriod.month(2026, 10), _big_numbers(), rnd)
    if name == "postgres":
        with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    with rt.db.session_scope() as s:
        counts = {
            i: s.scalar(select(func.count()).select_from(Invoice).where(Invoice.id == i))
            for i in (detail_id, summary_id)
        }
        assert all(counts.values())
    rt.db.engine.dispose()
    data = {
        "lines": lines,
        "customer_id": customer_id,
        "usage_daily_rows": usage_rows,
        "detail_invoice_id": detail_id,
        "summary_invoice_id": summary_id,
        "generated_in_s": round(time.perf_counter() - started),
    }
    marker.write_text(json.dumps(data, indent=2))
    return tgt, data


# --- measuring --------------------------------------------------------------------------------


class Clock:
    """Wall and CPU time of a step: this process, its waited-for children (the rendering
    processes) and, on PostgreSQL, this bench's database backends (found by their
    application_name, read from /proc: the server is local)."""

    def __init__(self, tgt: Target, session) -> None:
        self.session = session if tgt.name == "postgres" else None

    def _backends(self) -> dict[int, float]:
        if self.session is None:
            return {}
        pids = self.session.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
            {"n": APPLICATION_NAME},
        ).scalars()
        return {pid: process_cpu(pid) for pid in pids}

    def __enter__(self) -> Clock:
        self.children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.backends = self._backends()
        self.own = time.process_time()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.started
        self.own = time.process_time() - self.own
        self.db = sum(cpu - self.backends.get(pid, 0.0) for pid, cpu in self._backends().items())
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.child = (after.ru_utime - self.children.ru_utime) + (
            after.ru_stime - self.children.ru_stime
        )

    def figures(self, **extra) -> dict:
        return {
            "wall_s": round(self.wall, 2),
            "cpu_s": round(self.own + self.child + self.db, 2),
            "process_cpu_s": round(self.own, 2),
            "renderers_cpu_s": round(self.child, 2),
            "database_cpu_s": round(self.db, 2),
            **extra,
        }


def _pages(data: bytes) -> int:
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        return len(pdf.pages)


def measure(name: str, lines: int) -> dict:
    prepared = prepare(name, lines)
    if prepared is None:
        return {"skipped": "PostgreSQL not reachable"}
    tgt, data = prepared
    rt = Runtime(tgt.settings())
    from flask_babel import force_locale

    import portal
    from core.pdf import render_pdf
    from services.einvoice import detail, documents
    from services.reports import documents as report_documents
    from services.reports import usage_report

    app = portal.create_app(rt)
    scope = FleetScope(data["customer_id"])
    result = {"database": name, "load_before": os.getloadavg(), **data}
    render_pdf("<p>fonts</p>")  # the process's fonts are loaded once, before measuring
    with app.test_request_context(), force_locale("pl"), rt.db.session_scope() as s:
        with Clock(tgt, s) as clock:
            report = usage_report.build(s, scope, NOVEMBER, "unit")
        result["unit_report_data"] = clock.figures(units=len(report.groups))
        params = {
            "report": "usage",
            "scope": report_documents.scope_params(scope),
            "period": NOVEMBER.as_params(),
            "group_by": "unit",
            "fmt": "pdf",
            "locale": "pl",
        }
        out = io.BytesIO()
        with Clock(tgt, s) as clock:
            rows = report_documents.write(s, params, out)
        result["unit_pdf"] = clock.figures(
            rows=rows, pages=_pages(out.getvalue()), kb=len(out.getvalue()) // 1000
        )

        summary = s.get(Invoice, data["summary_invoice_id"])
        for _attempt in (1, 2):  # the second is the figure: the first loads the template
            with Clock(tgt, s) as clock:
                body = documents.invoice_pdf(s, summary)
        result["invoice_pdf"] = clock.figures(
            pages=_pages(body), kb=len(body) // 1000, invoice_lines=_count_lines(s, summary)
        )

        invoice = s.get(Invoice, data["detail_invoice_id"])
        with Clock(tgt, s) as clock:
            body = detail.detail_pdf(s, invoice)
        result["detail_pdf"] = clock.figures(
            pages=_pages(body), kb=len(body) // 1000, invoice_lines=_count_lines(s, invoice)
        )
        with Clock(tgt, s) as clock:
            body = detail.detail_xlsx(s, invoice)
        result["detail_xlsx"] = clock.figures(kb=len(body) // 1000)
    rt.db.engine.dispose()
    result["load_after"] = os.getloadavg()
    (DATA_DIR / f"documents-{name}.json").write_text(json.dumps(result, indent=2))
    return result


def _count_lines(s, invoice: Invoice) -> int:
    from models import InvoiceLine

    return s.scalar(
        select(func.count()).select_from(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.documents", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--lines", type=int, default=5_000)
    args = parser.parse_args(argv)
    for name in ("postgres", "sqlite") if args.db == "both" else (args.db,):
        log(f"{name}: documents, {args.lines:,} lines")
        figures = measure(name, args.lines)
        log(f"{name}: {json.dumps(figures)}")


if __name__ == "__main__":
    main()
