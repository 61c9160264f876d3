"""The fleet list's text search: a part of a number, a whole number, an ICCID or IMEI from the
start, or words of the employee's name (an e-mail address when a word contains "@").

"Contains" cannot use an ordinary index, so it is answered by an index made for it (migration
0006): on PostgreSQL trigram GIN indexes over ``employee.full_name``, ``employee.email`` and
``line.msisdn``, which ILIKE and LIKE use as they are written; on SQLite the FTS5 tables
``employee_fts`` and ``line_fts`` with the trigram tokenizer, asked with LIKE (a pattern of
three characters or more is looked up in the index; shorter words, and words with LIKE's own
wildcards, fall back to reading the names).

The result is one condition, ``line.id IN (...)``: the database finds the few matching lines
first and sorts only those, instead of walking the whole fleet in list order to find them. The
parts inside do not repeat the customer: the caller's own conditions on the line (customer,
subtree) apply to what they find, and an index on the customer would only tempt SQLite (which
has no statistics) to read every line of the customer instead of the few found.
"""

from __future__ import annotations

import re

from sqlalchemy import Integer, String, and_, column, func, or_, select, table, union_all

from models import Employee, Line

# SQLite only (migration 0006): external-content FTS5 tables over employee and line.
EMPLOYEE_FTS = table(
    "employee_fts",
    column("rowid", Integer),
    column("full_name", String),
    column("email", String),
)
LINE_FTS = table("line_fts", column("rowid", Integer), column("msisdn", String))

FTS_MIN = 3  # the trigram index answers patterns of at least three characters
LIKE_SPECIALS = re.compile(r"[%_\\]")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _variants(word: str) -> list[str]:
    """SQLite's LIKE ignores the case of ASCII letters only: a word with Polish letters is also
    tried capitalised ("łukasz" finds "Łukasz")."""
    if word.isascii():
        return [word]
    return list(dict.fromkeys([word.lower(), word[:1].upper() + word[1:].lower()]))


def _contains(dialect: str, col, word: str):
    """Case-insensitive "contains" on a column of the employee table."""
    if dialect != "sqlite":
        return col.ilike(f"%{_escape(word)}%", escape="\\")
    return or_(*[col.like(f"%{_escape(v)}%", escape="\\") for v in _variants(word)])


def _fts_word(word: str) -> bool:
    """Can SQLite's trigram index answer a LIKE for this word?"""
    return len(word) >= FTS_MIN and not LIKE_SPECIALS.search(word)


def _employee_word(dialect: str, word: str):
    """Employees whose name (or e-mail address) contains ``word``."""
    name = "email" if "@" in word else "full_name"
    if dialect == "sqlite" and _fts_word(word):
        fts_col = EMPLOYEE_FTS.c[name]
        found = union_all(
            *[select(EMPLOYEE_FTS.c.rowid).where(fts_col.like(f"%{v}%")) for v in _variants(word)]
        )
        return Employee.id.in_(found)
    return _contains(dialect, getattr(Employee, name), word)


def _digits_prefix(col, digits: str):
    """``col`` starts with ``digits`` (a digit string), as a range the column's index can
    answer: "8948" <= value < "8949"."""
    head = digits.rstrip("9")
    if not head:
        return col >= digits
    upper = head[:-1] + str(int(head[-1]) + 1)
    return and_(col >= digits, col < upper)


def search_condition(dialect: str, customer_id: int, q: str):
    """The lines of ``customer_id`` that ``q`` finds, as ``line.id IN (...)``; None when ``q``
    asks for nothing.

    Digits only (spaces, "+", brackets and dashes allowed), at least three: part of the MSISDN
    (up to 11 digits) or a whole number with its country code (12 or more: the unique index
    finds it); with 8 digits or more also the start of an ICCID or IMEI. Otherwise (or when
    letters are mixed in) every word must be found in the employee's name or e-mail."""
    digits = re.sub(r"\D", "", q)
    parts = []
    if digits and len(digits) >= 3 and len(digits) == len(re.sub(r"[\s+()\-]", "", q)):
        if len(digits) >= 12:
            parts.append(select(Line.id).where(Line.msisdn == f"+{digits}"))
        elif dialect == "sqlite":
            parts.append(select(LINE_FTS.c.rowid).where(LINE_FTS.c.msisdn.like(f"%{digits}%")))
        else:  # the number's digits (without "+"), as migration 0016 indexes them
            parts.append(select(Line.id).where(func.substr(Line.msisdn, 2).like(f"%{digits}%")))
        if len(digits) >= 8:
            parts.append(select(Line.id).where(_digits_prefix(Line.iccid, digits)))
            parts.append(select(Line.id).where(_digits_prefix(Line.imei, digits)))
    if not digits or len(digits) < len(q):
        words = [w for w in q.split() if w][:6]
        if words:
            people = select(Employee.id).where(*[_employee_word(dialect, w) for w in words])
            if dialect != "sqlite" or not all(_fts_word(w) for w in words):
                # PostgreSQL weighs it with its statistics; on SQLite it narrows a scan
                people = people.where(Employee.customer_id == customer_id)
            parts.append(select(Line.id).where(Line.employee_id.in_(people)))
    if not parts:
        return None
    return Line.id.in_(parts[0] if len(parts) == 1 else union_all(*parts))
