"""Files the application produces or receives (exports, imports, documents), under FILES_PATH.

Paths stored in the database are relative to the store's root, so the root can move. Writes go
to a temporary name first and are renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, relative: str) -> Path:
        full = (self.root / relative).resolve()
        if not full.is_relative_to(self.root.resolve()):
            raise ValueError("path outside the file store")
        return full

    def new_name(self, folder: str, suffix: str) -> str:
        return f"{folder}/{secrets.token_hex(12)}{suffix}"

    @contextmanager
    def writing(self, relative: str) -> Iterator[Path]:
        """Yield a temporary path to write; renamed to ``relative`` when the block succeeds."""
        final = self.path(relative)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        try:
            yield tmp
            tmp.replace(final)
        finally:
            if tmp.exists():
                tmp.unlink()

    def save_bytes(self, relative: str, data: bytes) -> int:
        with self.writing(relative) as tmp:
            tmp.write_bytes(data)
        return len(data)

    def size(self, relative: str) -> int:
        return self.path(relative).stat().st_size

    def delete(self, relative: str | None) -> None:
        if relative:
            p = self.path(relative)
            if p.exists():
                p.unlink()
