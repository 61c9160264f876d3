"""The usage-file upload form. The checks (header, size, duplicates) are the view's and
services.usage_files'; their refusals land on the file field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField


class UploadForm(FlaskForm):
    file = FileField(
        _l("Usage file (CSV)"),
        description=_l(
            "Columns msisdn, started_at, kind, direction, zone, quantity, charge; UTF-8, "
            "optionally gzip-compressed. The same file delivered twice is loaded once."
        ),
        render_kw={"accept": ".csv,.gz,text/csv,text/plain,application/gzip"},
    )
