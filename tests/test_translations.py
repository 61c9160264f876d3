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
        wanted = {m.id for m in read_po(fh) if m.id}
    with (ROOT / "translations/pl/LC_MESSAGES/messages.po").open("rb") as fh:
        polish = read_po(fh)
    missing = sorted(str(i) for i in wanted if i not in polish or polish[i].string in ("", None))
    used = [polish[i] for i in wanted if i in polish]
    untranslated_plural = sorted(
        str(m.id) for m in used if isinstance(m.string, tuple) and not all(m.string)
    )
    fuzzy = sorted(str(m.id) for m in used if m.fuzzy)
    assert not missing, f"run `make messages` and translate: {missing[:10]}"
    assert not untranslated_plural and not fuzzy
