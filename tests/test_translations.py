"""Polish is the default language: every string in the code and templates has a translation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def test_polish_catalogue_is_complete_and_current(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "_ln:1,2",
            "-k",
            "lazy_gettext",
            "-k",
            "lazy_pgettext:1c,2",
            "-k",
            "_",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        wanted = {(m.id, m.context) for m in read_po(fh) if m.id}
    with (ROOT / "translations/pl/LC_MESSAGES/messages.po").open("rb") as fh:
        polish = read_po(fh)
    found = {key: polish.get(key[0], context=key[1]) for key in wanted}
    missing = sorted(str(k) for k, m in found.items() if m is None or m.string in ("", None))
    used = [m for m in found.values() if m is not None]
    untranslated_plural = sorted(
        str(m.id) for m in used if isinstance(m.string, tuple) and not all(m.string)
    )
    fuzzy = sorted(str(m.id) for m in used if m.fuzzy)
    assert not missing, f"run `make messages` and translate: {missing[:10]}"
    assert not untranslated_plural and not fuzzy
