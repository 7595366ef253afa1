"""PDF documents: the one WeasyPrint entry point of hpsmart.

``render_pdf(template_name, **context)`` renders ``templates/pdf/<template_name>``
with Jinja and lays it out with WeasyPrint. Every resource the document names
(fonts, images, style sheets) goes through ``StaticOnlyFetcher``: ``file:`` URLs
inside the app's static folder (and any extra folder the caller allows, e.g. the
photo storage), nothing else — no HTTP back to the app or anywhere, no other file.
Relative URLs in templates resolve against the static folder, so a template
writes ``url(fonts/LiberationSerif-Regular.ttf)``.

Fonts are the bundled Liberation Serif files (metric-compatible with Times New
Roman, full Vietnamese), declared with ``@font-face`` as whole files: WeasyPrint
garbles text when several subsets of one family share a name with
``unicode-range``.
"""
from __future__ import annotations

import gc
import mimetypes
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app
from weasyprint import HTML
from weasyprint.document import Document
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from ..text import nfc


class ForbiddenResource(ValueError):
    """A document asked for a URL outside the allowed folders (or not a ``file:`` URL)."""


class StaticOnlyFetcher(URLFetcher):
    """WeasyPrint URL fetcher that serves files from allowed folders only.

    :param roots: folders (absolute paths) whose files may be read; symbolic links
        are resolved first, so a link pointing outside is refused too.

    ``fetch(url)`` accepts ``file:`` URLs whose resolved path lies inside one of
    ``roots`` and raises ``ForbiddenResource`` for anything else (``http:``,
    ``https:``, ``data:``, ``ftp:``, other files). WeasyPrint logs a refused
    resource and leaves it out of the document. ``requested`` lists every URL
    asked for, ``refused`` those refused (tests read them).
    """

    def __init__(self, roots: Iterable[str | Path]):
        super().__init__(allowed_protocols={"file"}, allow_redirects=False, timeout=1)
        self.roots = [Path(root).resolve() for root in roots]
        self.requested: list[str] = []
        self.refused: list[str] = []

    def resolve(self, url: str) -> Path:
        """The allowed file a URL names.

        :raises ForbiddenResource: not a ``file:`` URL, or outside every root, or
            not an existing regular file.
        """
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            raise ForbiddenResource(f"only files of the application may be read: {url[:80]}")
        path = Path(unquote(parts.path)).resolve()
        if not any(path.is_relative_to(root) for root in self.roots) or not path.is_file():
            raise ForbiddenResource(f"outside the application's folders: {url[:80]}")
        return path

    def fetch(self, url, headers=None):  # noqa: D401 - WeasyPrint's interface
        """Return the file as a ``URLFetcherResponse``; see the class docstring."""
        self.requested.append(url)
        try:
            path = self.resolve(url)
        except ForbiddenResource:
            self.refused.append(url)
            raise
        mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix.lower() == ".ttf":
            mime_type = "font/ttf"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime_type})


def static_root() -> Path:
    """The app's static folder (absolute path)."""
    return Path(current_app.static_folder).resolve()


def render_html(template_name: str, **context) -> str:
    """The document's HTML: ``templates/pdf/<template_name>`` rendered, in NFC.

    The whole text is NFC-normalised so that Vietnamese typed in NFD (macOS, iOS)
    is laid out with the font's precomposed glyphs and extracted back identically.
    The template sees only ``context`` and the app's Jinja globals and filters
    (``_``, ``localdt``...), not the request's context processors: documents are
    the same whoever asks, and render outside a request (CLI, background job).
    """
    template = current_app.jinja_env.get_template(f"pdf/{template_name}")
    return nfc(template.render(**context)) + "\n"


def render_pdf(template_name: str, *, extra_roots: Iterable[str | Path] = (),
               fetcher: StaticOnlyFetcher | None = None, **context) -> bytes:
    """Render a PDF document.

    :param template_name: file name under ``templates/pdf/`` (e.g. ``summary.html``).
    :param extra_roots: folders besides the static folder that the document may
        read from (e.g. the photo storage for pictures in the document).
    :param fetcher: a ``StaticOnlyFetcher`` to use (tests pass one to inspect it);
        default: one allowing the static folder and ``extra_roots``.
    :param context: template variables.
    :returns: the PDF file as bytes.
    :raises jinja2.TemplateNotFound: unknown template.

    Needs an application context (templates, static folder, translations).
    """
    html = render_html(template_name, **context)
    return html_to_pdf(html, extra_roots=extra_roots, fetcher=fetcher)


def html_to_pdf(html: str, *, extra_roots: Iterable[str | Path] = (),
                fetcher: StaticOnlyFetcher | None = None) -> bytes:
    """Lay out an HTML string whose relative URLs resolve in the static folder; see ``render_pdf``."""
    return write_pdf(layout(html, extra_roots=extra_roots, fetcher=fetcher))


def layout(html: str, *, extra_roots: Iterable[str | Path] = (),
           fetcher: StaticOnlyFetcher | None = None) -> Document:
    """Lay out an HTML string (relative URLs resolve in the static folder) without writing it.

    :returns: WeasyPrint's ``Document``: its ``pages`` (each with the ``anchors`` it
        holds) can be inspected, kept in part (``Document.copy(pages)``) and written
        with ``write_pdf()`` (inside ``fewer_collections()`` for speed). Used to write a
        long document in parts (:func:`hpsmart.pdf.summary.write_summary_pdf`).
    """
    root = static_root()
    fetcher = fetcher or StaticOnlyFetcher([root, *extra_roots])
    with fewer_collections():
        document = HTML(string=html, base_url=root.as_uri() + "/", url_fetcher=fetcher)
        return document.render(font_config=FontConfiguration())


#: Allocations between two young-generation collections of Python's cyclic garbage
#: collector while WeasyPrint works (the interpreter's default is 700). WeasyPrint
#: allocates millions of short-lived objects; with the default, a monthly report
#: triggered about 350 young, 30 middle and 2–3 full collections, and the full ones
#: scan every object of the process (about 280,000 in a worker): 0.44 s of the 3 s
#: the report took (bench/RESULTS.md). At 20,000 it is about 0.1 s; the memory
#: WeasyPrint's cycles hold until they are collected grows by a few MB, not more.
LAYOUT_GC_THRESHOLD = 20_000

_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, ...] | None = None


@contextmanager
def fewer_collections():
    """Within the block, Python's garbage collector runs its young-generation
    collections every ``LAYOUT_GC_THRESHOLD`` allocations instead of 700.

    The setting is process-wide: the first of several threads inside such a block sets
    it, the last one out puts the previous thresholds back. Nothing is left
    uncollected: the collector keeps running, only less often.
    """
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(LAYOUT_GC_THRESHOLD, _gc_saved[0]), *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)


def write_pdf(document: Document, target=None) -> bytes | None:
    """``document.write_pdf(target)`` inside ``fewer_collections()``: the PDF's bytes, or
    None when written to ``target`` (a binary file)."""
    with fewer_collections():
        return document.write_pdf(target)


__all__ = ["ForbiddenResource", "LAYOUT_GC_THRESHOLD", "StaticOnlyFetcher", "fewer_collections", "html_to_pdf", "layout",
           "render_html", "render_pdf", "static_root", "write_pdf"]
