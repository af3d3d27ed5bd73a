"""E-mail bodies from `templates/email/`: one plain-text and one HTML template per message.

The environment is the mail's own, not the app's: messages are written by requests, by
jobs and by domain code called from tests alike, with or without a Flask app around.
Autoescaping goes by extension: the HTML part is escaped (a student named `<script>`
stays text), the text part is not HTML, so it is left as written. Block tags take their
line with them (trim_blocks, lstrip_blocks), so a text template reads like its e-mail.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from prepbase.hours import format_hours, hours_phrase
from prepbase.paths import TEMPLATES

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default=False),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(hours=format_hours, hours_phrase=hours_phrase)
# The pages' own macro: families read the same contact details on screen and by e-mail.
# A macro is an attribute Jinja sets when it runs the template (unknown to its types).
_env.globals["how_to_reach"] = _env.get_template("_macros/contact.html").module.how_to_reach  # type: ignore[attr-defined]


def render(template: str, **context: Any) -> tuple[str, str]:
    """The plain-text and the HTML part of `templates/email/<template>`."""
    text = _env.get_template(f"email/{template}.txt").render(**context)
    html = _env.get_template(f"email/{template}.html").render(**context)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n", html
