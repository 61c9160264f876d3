"""Usage: the operator's call, message and data records, their per-line daily totals, and the
files they arrive in.

``UsageEvent`` can hold hundreds of millions of rows: on PostgreSQL it is range-partitioned by
month of ``started_at`` (the migration creates the parent table; the ingestion creates the
partitions ``usage_event_pYYYY_MM`` a file needs) with a BRIN index on the time column; on
SQLite it is a plain table. Reports never scan it: they read ``UsageMonthly`` for whole
months and ``UsageDaily`` for the days at the edges of a period, both of which the ingestion
keeps up to date in the same transaction as the events.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, GroszeOnSQLite, TimestampMixin, UTCDateTime


class UsageKind(enum.StrEnum):
    voice = "voice"  # quantity in seconds
    sms = "sms"  # quantity in messages
    mms = "mms"  # quantity in messages
    data = "data"  # quantity in bytes


class Direction(enum.StrEnum):
    incoming = "in"
    outgoing = "out"  # data sessions are recorded as outgoing


class Zone(enum.StrEnum):
    """Where the line was when the event happened, as the roaming policies group it.

    ``eu``: EU/EEA (regulated roaming, "roam like at home"); ``europe``: the rest of Europe
    (United Kingdom, Switzerland, Ukraine, the Balkans…), priced separately; ``world``:
    everything else.
    """

    domestic = "domestic"
    eu = "eu"
    europe = "europe"
    world = "world"


def _enum(cls, name: str, length: int):
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda e: [m.value for m in e],
    )


class FileState(enum.StrEnum):
    received = "received"
    loading = "loading"
    loaded = "loaded"
    failed = "failed"


FILE_TRANSITIONS: dict[FileState, set[FileState]] = {
    FileState.received: {FileState.loading, FileState.failed},
    FileState.loading: {FileState.loading, FileState.loaded, FileState.failed},
    FileState.loaded: set(),
    FileState.failed: set(),
}


class UsageFile(TimestampMixin, Base):
    """One delivered usage file. ``rows_done`` is the resume point: the number of rows after the
    header whose events (or rejections) are committed, updated in the same transaction."""

    __tablename__ = "usage_file"
    __table_args__ = (Index("ix_usage_file_state_updated_at", "state", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    # The delivered bytes, relative to FILES_PATH.
    stored_path: Mapped[str] = mapped_column(String(300))
    state: Mapped[FileState] = mapped_column(
        _enum(FileState, "usage_file_state", 10), default=FileState.received
    )
    submitted_by: Mapped[str] = mapped_column(String(254))
    rows_total: Mapped[int | None] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Why the whole file failed: a code of services.usage_format.FILE_ERRORS and its values.
    error: Mapped[dict | None] = mapped_column(JSON)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def percent(self) -> int:
        if self.state == FileState.loaded:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(100 * self.rows_done / self.rows_total))


class UsageRejection(Base):
    """A row of a usage file that was not loaded: its number (the header is row 1), the reason
    (a code translated when the report is read) and the row as delivered."""

    __tablename__ = "usage_rejection"

    file_id: Mapped[int] = mapped_column(
        ForeignKey("usage_file.id", ondelete="CASCADE"), primary_key=True
    )
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    reason: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str | None] = mapped_column(String(200))
    raw: Mapped[str] = mapped_column(String(1000))


class UsageEvent(Base):
    """One call, message or data session. Written only by the ingestion (bulk SQL).

    No index by line: nothing reads events line by line (reports read ``UsageDaily``), and
    such an index made each insert about twice as costly. A per-line call log would add one
    (on PostgreSQL perhaps only on recent partitions)."""

    __tablename__ = "usage_event"
    __table_args__ = (
        Index("ix_usage_event_started_at", "started_at", postgresql_using="brin"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    # SQLite: ``id`` alone is the key (the rowid). PostgreSQL: (id, started_at) for the mapper
    # only — the table has no primary key index (migration 0019): nothing reads events by id,
    # and that index cost two fifths of each insert. A file row becomes at most one event
    # because the file's resume point moves in the chunk's transaction.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    line_id: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[UsageKind] = mapped_column(_enum(UsageKind, "usage_kind", 5))
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "usage_direction", 3))
    zone: Mapped[Zone] = mapped_column(_enum(Zone, "usage_zone", 8))
    quantity: Mapped[int] = mapped_column(BigInteger)
    charge: Mapped[Decimal] = mapped_column(GroszeOnSQLite())
    file_id: Mapped[int] = mapped_column(Integer)
    file_row: Mapped[int] = mapped_column(Integer)


class UsageDaily(Base):
    """Per line, per day in Europe/Warsaw, per kind, zone and direction: the sums of events.

    ``line_id`` has no foreign key: the loader takes it from ``line`` in the statement that
    writes the row, lines are never deleted, and the key's check cost a third of each chunk's
    upsert (migration 0018)."""

    __tablename__ = "usage_daily"
    __table_args__ = (Index("ix_usage_daily_customer_id_day", "customer_id", "day"),)

    line_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[UsageKind] = mapped_column(_enum(UsageKind, "usage_kind", 5), primary_key=True)
    zone: Mapped[Zone] = mapped_column(_enum(Zone, "usage_zone", 8), primary_key=True)
    direction: Mapped[Direction] = mapped_column(
        _enum(Direction, "usage_direction", 3), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    events: Mapped[int] = mapped_column(Integer, default=0)
    charge: Mapped[Decimal] = mapped_column(GroszeOnSQLite(), default=Decimal("0"))


class UsageMonthly(Base):
    """Per line, per month in Europe/Warsaw (``month``: its first day), per kind, zone and
    direction: the sums of the line's ``UsageDaily`` rows of that month. Kept in the same
    transaction as the daily totals by everything that writes them (``services.usage_rollup``);
    reports and billing read it for whole months.

    Like ``usage_daily``, no foreign key to ``line``; on PostgreSQL its pages are filled to
    half, so that the many updates of a month's rows while it is delivered stay in their page
    (migration 0019)."""

    __tablename__ = "usage_monthly"
    __table_args__ = (
        Index("ix_usage_monthly_customer_id_month", "customer_id", "month"),
        {"postgresql_with": {"fillfactor": 50}},
    )

    line_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[UsageKind] = mapped_column(_enum(UsageKind, "usage_kind", 5), primary_key=True)
    zone: Mapped[Zone] = mapped_column(_enum(Zone, "usage_zone", 8), primary_key=True)
    direction: Mapped[Direction] = mapped_column(
        _enum(Direction, "usage_direction", 3), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(BigInteger, default=0)
    events: Mapped[int] = mapped_column(Integer, default=0)
    charge: Mapped[Decimal] = mapped_column(GroszeOnSQLite(), default=Decimal("0"))
