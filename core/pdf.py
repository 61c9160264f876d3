"""PDF rendering with WeasyPrint.

One ``FontConfiguration`` per process, created on the first document and reused (building it
scans the system fonts). Documents may load files from ``static/`` only — stylesheets, the
logo — and ``data:`` URIs; anything else (the network, other files on the disk) is refused, so
text typed by a user can never make the renderer fetch something.

WeasyPrint is imported inside the functions: the apps start (and most tests run) on machines
without Pango, and only rendering needs it. Rendering is serialised per process by a lock:
the shared font configuration is not meant for concurrent use, and a one-page document takes
a fraction of a second. Long documents belong in a worker.

Long tables (``render_pdf_pages``): the caller paginates itself — rows of one fixed height, so
the rows of a page are known — and hands over the document as chunks of whole pages, each a
complete HTML document that prints its own page numbers. The chunks are laid out in a small
pool of forked processes (WeasyPrint uses one core; a long table costs it about 0.4 ms a
cell), forked under the rendering lock (safe in a threaded web server), and concatenated with
pikepdf. Each chunk is laid out on its own, so memory stays that of
one chunk, not of the whole document.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
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
        # WeasyPrint opens its sRGB output-intent profile for PDF/A and never closes the file;
        # it goes (with a ResourceWarning) when its last reference does, inside this block.
        # (A full gc.collect() here cost 0.15 s of a large invoice's 2 s.)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            return HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf(
                font_config=fonts, pdf_variant="pdf/a-3b", attachments=files
            )


# Rendering processes for chunked documents: the cores of the machine, at most four.
MAX_PROCESSES = 4


def default_processes() -> int:
    return max(1, min(MAX_PROCESSES, os.cpu_count() or 1))


# A chunk has at least this many pages (fewer would cost more in set-up than it saves) and
# at most that many (memory grows with the pages WeasyPrint keeps laid out).
CHUNK_MIN_PAGES = 4
CHUNK_MAX_PAGES = 24


def chunk_bounds(pages: int, processes: int | None = None) -> list[tuple[int, int]]:
    """``[(start, stop), …]`` page ranges that split ``pages`` evenly over the processes."""
    if pages <= 0:
        return [(0, 0)]
    processes = processes or default_processes()
    size = -(-pages // processes)
    size = max(CHUNK_MIN_PAGES, min(CHUNK_MAX_PAGES, size))
    count = max(1, -(-pages // size))
    size = -(-pages // count)  # even chunks: 30 pages in 2 × 15, not 24 + 6
    return [(start, min(pages, start + size)) for start in range(0, pages, size)]


def _fresh_lock() -> None:
    """In a forked renderer: a lock of its own (the parent's may have been held by a thread)."""
    global _lock
    _lock = threading.Lock()


def _render_chunk(html: str) -> bytes:
    return render_pdf(html)


def render_pdf_pages(
    chunks: Sequence[str],
    *,
    processes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """One PDF of ``chunks`` (complete HTML documents of whole pages, in order), laid out in
    parallel and concatenated. ``progress(done, total)`` is called as chunks finish."""
    processes = min(processes or default_processes(), len(chunks))
    parts: list[bytes | None] = [None] * len(chunks)
    if progress:
        progress(0, len(chunks))
    if processes <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for n, html in enumerate(chunks):
            parts[n] = render_pdf(html)
            if progress:
                progress(n + 1, len(chunks))
    else:
        # Forked: the children start at once with WeasyPrint (and its fonts) already loaded.
        # A fork copies only this thread; a lock another thread held at that moment (one of the
        # C libraries' under WeasyPrint, say) would stay locked in the child for good. The
        # renderers are forked at the first submit, so every submit happens under the
        # rendering lock: no other thread of a threaded web server is inside WeasyPrint then.
        with ProcessPoolExecutor(
            processes, mp_context=multiprocessing.get_context("fork"), initializer=_fresh_lock
        ) as pool:
            with _lock:
                futures = {pool.submit(_render_chunk, html): n for n, html in enumerate(chunks)}
            for done, future in enumerate(as_completed(futures), start=1):
                parts[futures[future]] = future.result()
                if progress:
                    progress(done, len(chunks))
    if len(parts) == 1:
        return parts[0]
    return concatenate(parts)


def concatenate(parts: Sequence[bytes]) -> bytes:
    """The pages of ``parts`` in order, as one PDF with the first part's title and language."""
    import pikepdf

    out = pikepdf.new()
    sources = [pikepdf.open(io.BytesIO(data)) for data in parts]  # open until saved
    try:
        first = sources[0]
        if "/Lang" in first.Root:
            out.Root.Lang = first.Root.Lang
        for key in ("/Title", "/Author", "/Creator", "/Producer", "/CreationDate"):
            if key in first.docinfo:
                out.docinfo[key] = first.docinfo[key]
        for src in sources:
            out.pages.extend(src.pages)
        buffer = io.BytesIO()
        out.save(buffer, object_stream_mode=pikepdf.ObjectStreamMode.generate)
        return buffer.getvalue()
    finally:
        for src in sources:
            src.close()
        out.close()
