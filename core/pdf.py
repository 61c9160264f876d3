"""PDF rendering with WeasyPrint.

One ``FontConfiguration`` per process, created on the first document and reused (building it
scans the system fonts). Documents may load files from ``static/`` only — stylesheets, the
logo — and ``data:`` URIs; anything else (the network, other files on the disk) is refused, so
text typed by a user can never make the renderer fetch something.

WeasyPrint is imported inside the functions: the apps start (and most tests run) on machines
without Pango, and only rendering needs it. Rendering is serialised per process by a lock:
the shared font configuration is not meant for concurrent use, and a one-page document takes
a fraction of a second. Long documents belong in a worker.
"""

from __future__ import annotations

import gc
import threading
import warnings
from pathlib import Path
from urllib.parse import unquote, urlsplit

from core.settings import PROJECT_ROOT

STATIC_ROOT = (PROJECT_ROOT / "static").resolve()
BASE_URL = STATIC_ROOT.as_uri() + "/"

_lock = threading.Lock()
_fonts = None
_fetcher = None


class PdfResourceRefused(ValueError):
    """A document asked for a resource outside static/."""


def _allowed(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "data":
        return True
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return False
    path = Path(unquote(parts.path)).resolve()
    return path.is_relative_to(STATIC_ROOT) and path.is_file()


def _make_fetcher():
    import weasyprint

    url_fetcher_class = getattr(weasyprint, "URLFetcher", None)
    if url_fetcher_class is not None:  # WeasyPrint ≥ 67

        class StaticOnlyFetcher(url_fetcher_class):
            def fetch(self, url, headers=None):
                if not _allowed(url):
                    raise PdfResourceRefused(f"PDF documents may not load {url}")
                return super().fetch(url, headers)

        return StaticOnlyFetcher(allowed_protocols=("file", "data"), allow_redirects=False)

    def static_only_fetcher(url, timeout=10, ssl_context=None):
        if not _allowed(url):
            raise PdfResourceRefused(f"PDF documents may not load {url}")
        return weasyprint.default_url_fetcher(url, timeout=timeout, ssl_context=ssl_context)

    return static_only_fetcher


def _shared():
    global _fonts, _fetcher
    if _fonts is None:
        from weasyprint.text.fonts import FontConfiguration

        _fonts = FontConfiguration()
        _fetcher = _make_fetcher()
    return _fonts, _fetcher


def render_pdf(html: str) -> bytes:
    """The PDF of ``html``. Relative URLs (``css/pdf.css``) resolve against static/."""
    from weasyprint import HTML

    with _lock:
        fonts, fetcher = _shared()
        return HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf(
            font_config=fonts
        )


def render_pdf_a(html: str, attachments: list[tuple[str, bytes, str]] = ()) -> bytes:
    """A PDF/A-3b document of ``html`` with files embedded: ``(name, data, description)``.

    Each attachment is declared with ``AFRelationship /Data`` (the PDF/A-3 rule for structured
    data a document is built from; validators reject an unspecified relationship).
    """
    from weasyprint import HTML, Attachment

    with _lock:
        fonts, fetcher = _shared()
        files = [
            Attachment(
                string=data,
                name=name,
                description=description,
                relationship="Data",
                url_fetcher=fetcher,
            )
            for name, data, description in attachments
        ]
        # WeasyPrint opens its sRGB output-intent profile for PDF/A and leaves the file to the
        # garbage collector (a ResourceWarning): collect it here, where that is expected.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            data = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf(
                font_config=fonts, pdf_variant="pdf/a-3b", attachments=files
            )
            gc.collect()
        return data
