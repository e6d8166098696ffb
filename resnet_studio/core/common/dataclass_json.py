"""JSON for the frozen dataclasses a user saves and loads (ArchSpec, TrainConfig).

On the way out, a format tag and a version stand before the fields and tuples become lists.
On the way in, unknown fields and newer versions are refused with the class's own field-tagged
error (`error(field, message)`, e.g. SpecError or ConfigError, so a form can show it inline),
and lists become tuples again with the element type the field declares.
"""

from __future__ import annotations

import functools
import json
import typing
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any, TypeVar

T = TypeVar("T")
ErrorFactory = Callable[[str, str], Exception]


def to_dict(obj: Any, *, format_tag: str, version: int) -> dict[str, Any]:
    """{"format": ..., "version": ..., every field}; tuples as lists."""
    data = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(obj).items()}
    return {"format": format_tag, "version": version, **data}


def from_dict(cls: type[T], data: Any, *, version: int, error: ErrorFactory, what: str) -> T:
    """The dataclass `data` describes. `what` names the whole object in errors ("spec")."""
    if not isinstance(data, dict):
        raise error(what, "expected a JSON object")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known - {"format", "version"})
    if unknown:
        raise error(what, f"unknown field(s): {', '.join(unknown)}")
    if data.get("version", version) > version:
        raise error("version", f"written by a newer ResNet Studio (version {data['version']})")
    kwargs = {k: v for k, v in data.items() if k in known}
    for name, item_type in _tuple_fields(cls).items():
        if name in kwargs:
            kwargs[name] = tuple(item_type(v) for v in kwargs[name])
    return cls(**kwargs)


def parse_json(text: str, *, error: ErrorFactory, what: str) -> Any:
    """json.loads, with a syntax error as the class's own error."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise error(what, f"not valid JSON ({e.msg}, line {e.lineno})") from None


@functools.cache
def _tuple_fields(cls: type) -> dict[str, type]:
    """{field: element type} of the fields declared `tuple[X, ...]`."""
    out = {}
    for name, hint in typing.get_type_hints(cls).items():
        args = typing.get_args(hint)
        if typing.get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis:
            out[name] = args[0]
    return out
