"""Reading Gatepass's server-rendered pages as a browser would: forms to submit, fields to read, visible text.

One parser reads a page once; the functions below are views of what it found.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from html.parser import HTMLParser

#: Elements that sit inside a line of text: no space is seen around them.
_INLINE = frozenset({"a", "b", "code", "em", "i", "mark", "small", "span", "strong"})
#: Elements whose content is never shown as text.
_HIDDEN = frozenset({"style", "script", "title"})


@dataclass
class Form:
    action: str
    method: str
    #: The value of each named input, as the form would submit it.
    fields: dict[str, str] = field(default_factory=dict)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        #: The first value of each named input on the page, in a form or not.
        self.inputs: dict[str, str] = {}
        #: The value of each input and textarea that has an id.
        self.by_id: dict[str, str] = {}
        self.text: list[str] = []
        self._textarea: str | None = None
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
        elif tag == "input":
            value = values.get("value", "")
            if "name" in values:
                self.inputs.setdefault(values["name"], value)
                if self.forms:
                    self.forms[-1].fields[values["name"]] = value
            if "id" in values:
                self.by_id[values["id"]] = value
        elif tag == "textarea" and "id" in values:
            self._textarea = values["id"]
            self.by_id[self._textarea] = ""
        self._hidden += tag in _HIDDEN
        if tag not in _INLINE:
            self.text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        self._hidden -= tag in _HIDDEN
        if tag not in _INLINE:
            self.text.append(" ")

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.by_id[self._textarea] += data
        if not self._hidden:
            self.text.append(data)


def _parsed(page: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(page)
    parser.close()
    return parser


def parse_forms(page: str) -> list[Form]:
    return _parsed(page).forms


def find_form(page: str, action: str) -> Form | None:
    """The first form that posts to ``action``."""
    return next((form for form in parse_forms(page) if form.action == action), None)


def input_values(page: str) -> dict[str, str]:
    """Each named input's value (the first of a name), wherever it stands on the page."""
    return _parsed(page).inputs


def values_by_id(page: str) -> dict[str, str]:
    """The value of each input and the content of each textarea that has an id."""
    return _parsed(page).by_id


def page_text(page: str) -> str:
    """The visible text of a page: tags removed, entities decoded, white space folded."""
    return " ".join("".join(_parsed(page).text).split())


def escape(text: str) -> str:
    """``text`` as a page shows it inside an element or an attribute."""
    return html.escape(text, quote=True)
