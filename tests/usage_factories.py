"""Usage files for tests: rows in the delivered format, written to a temporary file."""

from __future__ import annotations

import itertools
from pathlib import Path

from services import usage_files

HEADER = "msisdn,started_at,kind,direction,zone,quantity,charge"
_seq = itertools.count(1)


def write_usage(folder: Path, rows: list[str], header: str = HEADER, name=None) -> Path:
    path = folder / (name or f"usage-{next(_seq)}.csv")
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def submit(session, rt, path: Path, **kw):
    file, created = usage_files.submit_path(
        session, rt.files, path, name=path.name, submitted_by="test", enqueue=False, **kw
    )
    return file, created


def load(app, file_id: int) -> str:
    from workers.usage_jobs import load_usage_file

    with app.app_context():
        return load_usage_file(file_id)
