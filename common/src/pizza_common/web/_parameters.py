"""Query and path parameters as strict as JSON bodies, for every service alike.

litestar turns a parameter's text into its type with msgspec's lenient conversion:
``limit=2.0`` and ``limit=1e2`` become the integers 2 and 100, ``flag=1`` or ``flag=True``
true, ``x=nan`` a float. Here an integer parameter takes the text of a JSON integer only
(``42``, ``-1``; no ``+``, no leading zero, no point, no exponent), a float a finite JSON
number, a boolean ``true`` or ``false``. The guard refuses anything else before litestar
converts it, with the :class:`~litestar.exceptions.ValidationException` litestar raises for
an invalid parameter, so each service answers it as it answers any invalid parameter.

Which parameters come from the query or the path is litestar's own reading of each
handler's signature (its kwargs model), taken once when the app is built. A typed path
template (``{n:int}``) is refused then: the router converts its text even more leniently
(``+5``, ``1_000``, ``٣``) before any handler code could look at it. Declare
``{n:str}`` and give the type in the signature, where this check applies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.enums import ParamType
from litestar.exceptions import ImproperlyConfiguredException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

Kind = Literal["integer", "number", "boolean"]
OPT_KEY = "strict_parameters"

_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_RULES: dict[Kind, tuple[Callable[[str], bool], str]] = {
    "integer": (
        lambda text: _INTEGER.fullmatch(text) is not None,
        "must be an integer, written in digits (such as 100)",
    ),
    "number": (
        lambda text: _NUMBER.fullmatch(text) is not None and math.isfinite(float(text)),
        "must be a finite number (such as 0.5 or 1e-3)",
    ),
    "boolean": (lambda text: text in {"true", "false"}, "must be true or false"),
}
Source = Literal["query", "path"]
_SOURCES: dict[ParamType, Source] = {ParamType.QUERY: "query", ParamType.PATH: "path"}
_UNTYPED_PATHS = (str, Path)  # the router hands these over as the text they are


@dataclass(frozen=True, slots=True)
class StrictParameter:
    source: Source
    name: str
    kind: Kind


def kind_of(field: FieldDefinition) -> Kind | None:
    """What a parameter's text must spell, or None if litestar takes it as it is."""
    types = [t for t in (field.inner_types if field.is_union else (field,)) if not t.is_none_type]
    if len(types) != 1:
        return None  # a union of types (int | str) accepts any text: nothing to refuse
    [found] = types
    if found.is_non_string_sequence and found.inner_types:
        found = found.inner_types[0]  # ?id=1&id=2: each value alike
    if found.is_subclass_of(bool):
        return "boolean"
    if found.is_subclass_of(int):
        return "integer"
    if found.is_subclass_of(float):
        return "number"
    return None


def install(app: Litestar) -> None:
    """Note each handler's strict parameters in its ``opt`` for :func:`guard`; refuse typed
    path templates."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for name, definition in route.path_parameters.items():
            if definition.type not in _UNTYPED_PATHS:
                raise ImproperlyConfiguredException(
                    f"{route.path}: declare {{{name}:str}} and give the type in the handler's "
                    f"signature; the router reads {{{definition.full}}} too leniently"
                )
        for handler, kwargs_model in route.route_handler_map.values():
            fields = {
                **handler.resolve_layered_parameters(),
                **handler.parsed_fn_signature.parameters,
            }
            found = {
                StrictParameter(_SOURCES[p.param_type], p.field_alias, kind)
                for p in (*kwargs_model.expected_query_params, *kwargs_model.expected_path_params)
                if p.param_type in _SOURCES
                and (field := fields.get(p.field_name)) is not None
                and (kind := kind_of(field)) is not None
            }
            known = {*handler.opt.get(OPT_KEY, ()), *found}
            handler.opt[OPT_KEY] = tuple(sorted(known, key=lambda p: (p.source, p.name)))


def _texts(connection: ASGIConnection[Any, Any, Any, Any], parameter: StrictParameter) -> list[str]:
    if parameter.source == "query":
        return list(connection.query_params.getall(parameter.name, []))
    value = connection.path_params.get(parameter.name)
    return [value] if isinstance(value, str) else []


async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Refuse a request whose strict parameters are not spelled as their type demands."""
    # A coroutine although it never waits: Litestar runs a plain function guard in a
    # worker thread, a crossing and back on every request of every service.
    errors: list[dict[str, str]] = []
    for parameter in handler.opt.get(OPT_KEY, ()):
        accepts, rule = _RULES[parameter.kind]
        for text in _texts(connection, parameter):
            if not accepts(text):
                message = f"{rule}, not {text!r}"
                errors.append(
                    {"key": parameter.name, "message": message, "source": parameter.source}
                )
    if errors:
        detail = "; ".join(f"{e['source']} parameter {e['key']} {e['message']}" for e in errors)
        raise ValidationException(detail=detail, extra=errors)
