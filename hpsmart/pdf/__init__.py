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

import mimetypes
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app
from weasyprint import HTML
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
    root = static_root()
    fetcher = fetcher or StaticOnlyFetcher([root, *extra_roots])
    font_config = FontConfiguration()
    document = HTML(string=html, base_url=root.as_uri() + "/", url_fetcher=fetcher)
    return document.write_pdf(font_config=font_config)


__all__ = ["ForbiddenResource", "StaticOnlyFetcher", "html_to_pdf", "render_html", "render_pdf", "static_root"]
