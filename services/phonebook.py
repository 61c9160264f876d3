"""The corporate phone book: employees of one customer with their listed numbers.

Visible to every portal user of the customer (employees too), always the whole company: it is
a directory, not a fleet view. Hidden entries are left out for everyone but the person themself
and, when they ask for them, the fleet administrators who may show them again. Terminated lines
are never listed, nor found by their number.

Search matches every word of the query against the name, the position and the department path
shown beside the entry, ignoring case and Polish diacritics ("lodz" finds "Łódź"); a query that
looks like a phone number (digits, spaces, +, -, brackets) matches any part of a listed number.
Pages are keyset pages over (folded name, id): no OFFSET, and stable while entries change.
Each page folds the names of all matches to sort them (about 150 ms for 45,000 employees on
SQLite, less on PostgreSQL); an index would need a stored sort column (a schema change).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from models import Employee, Line, LineStatus, OrgUnit
from services import audit
from services.audit import Actor
from services.fleet import format_msisdn

LISTED_STATUSES = (LineStatus.active, LineStatus.suspended, LineStatus.pendingTerminate)
PAGE_SIZE = 100
MAX_PAGE_SIZE = 5000
MAX_QUERY = 100
MAX_WORDS = 8
PATH_SEPARATOR = " › "

_PL_LETTERS = "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ"
_PL_ASCII = "acelnoszzacelnoszz"
_FOLD = str.maketrans(_PL_LETTERS, _PL_ASCII)
_NUMBER_LIKE = re.compile(r"[0-9\s+()\-./]+")


def fold(text: str) -> str:
    """Lower case without Polish diacritics; the same as ``_Fold`` does in the database."""
    return (text or "").lower().translate(_FOLD)


class _Fold(FunctionElement):
    """``fold`` in SQL. The Polish letters are mapped in both cases before lower(), which on
    SQLite (and PostgreSQL with a C ctype) knows only ASCII."""

    type = String()
    inherit_cache = True


@compiles(_Fold)
def _fold_replace(element, compiler, **kw):
    [expr] = element.clauses
    for letter, plain in zip(_PL_LETTERS, _PL_ASCII, strict=True):
        expr = func.replace(expr, letter, plain)
    return compiler.process(func.lower(expr), **kw)


@compiles(_Fold, "postgresql")
def _fold_translate(element, compiler, **kw):
    [expr] = element.clauses
    return compiler.process(func.lower(func.translate(expr, _PL_LETTERS, _PL_ASCII)), **kw)


def encode_cursor(sort_key: str, employee_id: int) -> str:
    raw = json.dumps([sort_key, employee_id], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None) -> tuple[str, int] | None:
    """The (sort key, employee id) of a cursor; None for anything that is not one of ours."""
    if not token or len(token) > 2000:  # a 200-character name takes at most ~1,100
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        return None
    if not (isinstance(values, list) and len(values) == 2):
        return None
    key, employee_id = values
    if not isinstance(key, str) or "\x00" in key:
        return None
    if type(employee_id) is not int or not 0 < employee_id < 2**63:
        return None
    return key, employee_id


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class Entry:
    employee_id: int
    full_name: str
    position: str | None
    email: str | None
    hidden: bool
    unit_id: int | None
    unit_tree_path: str | None  # the materialised path, e.g. "/1/110/111/"
    unit_names: tuple[str, ...]  # top-down, as shown (a single company root left out)
    numbers: tuple[str, ...]  # E.164

    @property
    def unit_label(self) -> str:
        return PATH_SEPARATOR.join(self.unit_names)


@dataclass
class Page:
    entries: list[Entry]
    next_cursor: str | None
    total: int | None = None  # all matches, when asked for


class UnitIndex:
    """The customer's department tree in memory: labels for display, matching for search.

    When the company has one root unit (the company itself), labels leave it out: every entry
    would start with it.
    """

    def __init__(self, session: Session, customer_id: int) -> None:
        rows = list(
            session.execute(
                select(OrgUnit.id, OrgUnit.name, OrgUnit.path).where(
                    OrgUnit.customer_id == customer_id
                )
            )
        )
        names = {uid: name for uid, name, _p in rows}
        roots = [uid for uid, _n, path in rows if path.count("/") == 2]
        skip_root = len(roots) == 1 and len(rows) > 1
        self.paths: dict[int, str] = {uid: path for uid, _n, path in rows}
        self.labels: dict[int, tuple[str, ...]] = {}
        for uid, _name, path in rows:
            chain = [int(p) for p in path.strip("/").split("/") if p]
            if skip_root and len(chain) > 1:
                chain = chain[1:]
            self.labels[uid] = tuple(names[i] for i in chain if i in names)
        self._folded = {uid: fold("\n".join(label)) for uid, label in self.labels.items()}

    def names(self, unit_id: int | None) -> tuple[str, ...]:
        return self.labels.get(unit_id, ()) if unit_id is not None else ()

    def matching(self, word: str) -> list[int]:
        """Units whose shown path contains the (folded) word: a division matches its subtree."""
        return [uid for uid, text in self._folded.items() if word in text]

    def choices(self) -> list[tuple[int, str]]:
        """(id, "Division › Unit › Team") in tree order, for a select."""
        ordered = sorted(self.labels.items(), key=lambda kv: [fold(n) for n in kv[1]])
        return [(uid, PATH_SEPARATOR.join(label)) for uid, label in ordered]


class Search:
    """One phone-book search, resolved once, then read as pages, a count or export batches.

    ``viewer_employee_id``: the signed-in employee, whose own entry is listed even when hidden.
    ``reveal_hidden``: a fleet administrator's request to list the hidden entries they manage:
    within ``manage_path`` (their subtree), or the whole company when it is None.
    The statement holds no session: export batches run it in sessions of their own.
    """

    def __init__(
        self,
        session: Session,
        customer_id: int,
        q: str = "",
        unit_path: str | None = None,
        *,
        viewer_employee_id: int | None = None,
        reveal_hidden: bool = False,
        manage_path: str | None = None,
    ) -> None:
        self.customer_id = customer_id
        self.units = UnitIndex(session, customer_id)
        self.sort_key = _Fold(Employee.full_name)
        query = (
            select(
                Employee.id,
                Employee.full_name,
                Employee.position,
                Employee.email,
                Employee.phonebook_hidden,
                Employee.unit_id,
                self.sort_key.label("sort_key"),
            )
            .outerjoin(OrgUnit, OrgUnit.id == Employee.unit_id)
            .where(Employee.customer_id == customer_id)
        )
        visible = [Employee.phonebook_hidden.is_(False)]
        if viewer_employee_id is not None:
            visible.append(Employee.id == viewer_employee_id)
        if reveal_hidden:
            visible.append(_in_subtree(manage_path) if manage_path else true())
        query = query.where(or_(*visible))
        if unit_path is not None:
            query = query.where(_in_subtree(unit_path))
        condition = self._text_condition(q)
        if condition is not None:
            query = query.where(condition)
        self.query: Select = query

    def _number_condition(self, digits: str) -> ColumnElement[bool]:
        return Employee.id.in_(
            select(Line.employee_id).where(
                Line.customer_id == self.customer_id,
                Line.employee_id.is_not(None),
                Line.status.in_(LISTED_STATUSES),
                Line.msisdn.like(f"%{digits}%"),
            )
        )

    def _text_condition(self, q: str) -> ColumnElement[bool] | None:
        # Control characters (a NUL breaks PostgreSQL) never match a name: drop them.
        q = "".join(ch if ch.isprintable() else " " for ch in (q or ""))
        q = " ".join(q.split())[:MAX_QUERY]
        if not q:
            return None
        digits = re.sub(r"[^0-9]", "", q)
        if _NUMBER_LIKE.fullmatch(q) and len(digits) >= 3:
            # A phone number as people type it: "601 200 300", "+48 601-200-300", "0048…".
            if digits.startswith("00"):
                digits = digits[2:]
            return self._number_condition(digits)
        haystack = _Fold(Employee.full_name + literal("\n") + func.coalesce(Employee.position, ""))
        conditions = []
        for word in list(dict.fromkeys(fold(w) for w in q.split()))[:MAX_WORDS]:
            options = [haystack.like(f"%{_like_escape(word)}%", escape="\\")]
            units = self.units.matching(word)
            if units:
                # Inline integers: thousands of units per word must not hit SQLite's limit of
                # bound parameters.
                ids = bindparam(None, units, expanding=True, literal_execute=True)
                options.append(Employee.unit_id.in_(ids))
            if len(word) >= 3 and word.isascii() and word.isdigit():
                options.append(self._number_condition(word))
            conditions.append(or_(*options))
        return and_(*conditions)

    def count(self, session: Session) -> int:
        sub = self.query.with_only_columns(Employee.id).subquery()
        return session.scalar(select(func.count()).select_from(sub)) or 0

    def page(
        self,
        session: Session,
        after: str | None = None,
        limit: int = PAGE_SIZE,
        *,
        with_total: bool = False,
    ) -> Page:
        """Up to ``limit`` entries after the cursor; ``with_total`` also counts all matches."""
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        query = self.query
        cursor = decode_cursor(after)
        if cursor:
            query = query.where(
                tuple_(self.sort_key, Employee.id) > tuple_(literal(cursor[0]), literal(cursor[1]))
            )
        # A separate count: count(*) OVER () in the page query doubles its time on SQLite.
        total = self.count(session) if with_total else None
        rows = list(session.execute(query.order_by(self.sort_key, Employee.id).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        numbers = self._numbers(session, [row.id for row in rows])
        entries = [
            Entry(
                employee_id=row.id,
                full_name=row.full_name,
                position=row.position,
                email=row.email,
                hidden=row.phonebook_hidden,
                unit_id=row.unit_id,
                unit_tree_path=self.units.paths.get(row.unit_id),
                unit_names=self.units.names(row.unit_id),
                numbers=tuple(numbers.get(row.id, ())),
            )
            for row in rows
        ]
        next_cursor = encode_cursor(rows[-1].sort_key, rows[-1].id) if more else None
        return Page(entries, next_cursor, total)

    def _numbers(self, session: Session, employee_ids: list[int]) -> dict[int, list[str]]:
        numbers: dict[int, list[str]] = {}
        if not employee_ids:
            return numbers
        for employee_id, msisdn in session.execute(
            select(Line.employee_id, Line.msisdn)
            .where(
                Line.customer_id == self.customer_id,
                Line.employee_id.in_(employee_ids),
                Line.status.in_(LISTED_STATUSES),
            )
            .order_by(Line.msisdn)
        ):
            numbers.setdefault(employee_id, []).append(msisdn)
        return numbers


def _in_subtree(path: str) -> ColumnElement[bool]:
    if not path:
        return false()
    return (OrgUnit.path >= path) & (OrgUnit.path < OrgUnit.upper_bound(path))


def in_subtree(entry_path: str | None, scope_path: str | None) -> bool:
    """Whether a unit path lies in a scope (None = the whole company)."""
    if scope_path is None:
        return True
    return entry_path is not None and entry_path.startswith(scope_path)


def set_hidden(session: Session, actor: Actor, employee: Employee, hidden: bool) -> bool:
    """Hide an entry from the phone book or show it again; False when nothing changed."""
    if employee.phonebook_hidden == hidden:
        return False
    before = {"phonebook_hidden": employee.phonebook_hidden}
    employee.phonebook_hidden = hidden
    audit.record(
        session,
        actor,
        "phonebook.entry_hidden" if hidden else "phonebook.entry_shown",
        customer_id=employee.customer_id,
        obj=employee,
        before=before,
        after={"phonebook_hidden": hidden},
    )
    session.flush()
    return True


# --- exports ---------------------------------------------------------------------------------

# Where the legal form starts: "Sp. z o.o.", "sp.j.", "spółka …", "S.A.", "SA", "S.K.A."
_LEGAL_FORM = re.compile(r"[\s,]+(sp\.|sp\s|spółka\b|s\.\s?a\.|s\.k\.a\.|sa$).*$", re.IGNORECASE)


def file_slug(company: str) -> str:
    """ "Polmarket S.A." -> "polmarket": the company's name for a file name, ASCII only."""
    name = _LEGAL_FORM.sub("", company or "").strip() or (company or "")
    slug = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")
    return slug[:60].rstrip("-") or "firma"


def _vcard_text(value: str | None) -> str:
    """A TEXT value (RFC 2426 5): backslash, comma, semicolon and line breaks escaped."""
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def _fold_line(line: str) -> str:
    """Lines longer than 75 octets folded with CRLF + space, never inside a UTF-8 character."""
    if len(line.encode()) <= 75:
        return line
    parts, current, size = [], "", 0
    for char in line:
        width = len(char.encode())
        if size + width > 75:
            parts.append(current)
            current, size = "", 1  # the leading space of a continuation line
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def vcard(entry: Entry, company: str) -> str:
    """One vCard 3.0 (RFC 2426) for an entry, CRLF line ends, folded at 75 octets."""
    words = entry.full_name.split()
    given = words[0] if len(words) > 1 else ""
    middle = " ".join(words[1:-1])
    family = words[-1] if words else ""
    org = ";".join(_vcard_text(part) for part in (company, *entry.unit_names))
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"N:{_vcard_text(family)};{_vcard_text(given)};{_vcard_text(middle)};;",
        f"FN:{_vcard_text(entry.full_name)}",
        f"ORG:{org}",
    ]
    if entry.position:
        lines.append(f"TITLE:{_vcard_text(entry.position)}")
    lines += [f"TEL;TYPE=WORK,CELL,VOICE:{format_msisdn(n)}" for n in entry.numbers]
    if entry.email:
        lines.append(f"EMAIL;TYPE=INTERNET,WORK:{_vcard_text(entry.email)}")
    lines.append("END:VCARD")
    return "".join(_fold_line(line) + "\r\n" for line in lines)


def _csv_cell(value: str | None) -> str:
    """Spreadsheets run cells that start with = + - @ (or tab, CR) as formulas: quote them."""
    value = value or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_chunks(batches: Iterable[list[Entry]], header: list[str]) -> Iterator[str]:
    """The CSV of a phone book, batch by batch: UTF-8 BOM, ";" separated, CRLF rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([_csv_cell(h) for h in header])
    yield "\ufeff" + buffer.getvalue()
    for entries in batches:
        buffer.seek(0)
        buffer.truncate()
        for e in entries:
            writer.writerow(
                [
                    _csv_cell(e.full_name),
                    _csv_cell(e.position),
                    _csv_cell(e.unit_label),
                    _csv_cell(", ".join(format_msisdn(n) for n in e.numbers)),
                    _csv_cell(e.email),
                ]
            )
        yield buffer.getvalue()
