"""HTML from the package's Jinja templates, autoescaped; fragments are rendered the same
way for the live updates the pages receive."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from board_svc.topic_size import human_bytes

ENVIRONMENT = Environment(
    loader=PackageLoader("board_svc", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENVIRONMENT.filters["bytes"] = human_bytes


def render(template: str, **values: Any) -> str:
    return ENVIRONMENT.get_template(template).render(**values)
