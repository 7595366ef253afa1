"""Read a page's forms as a browser would send them, for tests that post them back."""
from __future__ import annotations

from html.parser import HTMLParser


class Forms(HTMLParser):
    """Every ``<form>`` of a page: (action, [[name, value], ...]) as a browser would send it
    unchanged (checkboxes only when checked; submit buttons and file inputs left out)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, list]] = []
        self._fields = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._fields = []
            self.forms.append((a.get("action", ""), self._fields))
        elif self._fields is None:
            return
        elif tag == "input" and a.get("name") and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self._fields.append([a["name"], a.get("value", "y" if a.get("type") == "checkbox" else "")])
        elif tag == "select":
            self._select = [a["name"], None]
            self._fields.append(self._select)
        elif tag == "option" and self._select is not None:
            if self._select[1] is None or "selected" in a:
                self._select[1] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = [a["name"], ""]
            self._fields.append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._fields = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            value = self._textarea[1].replace("\r\n", "\n")
            self._textarea[1] = value[1:] if value.startswith("\n") else value
            self._textarea = None


def page_forms(page_html: str) -> list[tuple[str, list]]:
    """``[(action, [[name, value], ...]), ...]`` for every form of the page, in order."""
    parser = Forms()
    parser.feed(page_html)
    return parser.forms


def form_data(page_html: str, action: str, index: int = 0) -> dict:
    """What the ``index``-th form posting to ``action`` sends unchanged: ``{name: value}``."""
    found = [fields for url, fields in page_forms(page_html) if url == action]
    assert len(found) > index, f"no form posting to {action}"
    return {name: value or "" for name, value in found[index]}


def has_form(page_html: str, action: str) -> bool:
    """True when the page has a form posting to ``action``."""
    return any(url == action for url, _ in page_forms(page_html))
