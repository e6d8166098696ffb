"""JSON for the frozen dataclasses a user saves and loads (ArchSpec, TrainConfig).

On the way out, a format tag and a version stand before the fields and tuples become lists.
On the way in, unknown fields and newer versions are refused with the class's own field-tagged
error (`error(field, message)`, e.g. SpecError or ConfigError, so a form can show it inline),
and lists become tuples again with the element type the field declares.

A dataclass gets `to_dict`, `to_json`, `from_dict`, `from_json` and `validate` by deriving
from `JsonDataclass`, describing itself in a class variable `JSON = JsonFormat(...)` and
listing its errors in `errors()`.
"""

from __future__ import annotations

import functools
import json
import typing
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, TypeVar

T = TypeVar("T")
J = TypeVar("J", bound="JsonDataclass")
ErrorFactory = Callable[[str, str], Exception]


class FieldError(ValueError):
    """A bad value; `field` names the field to change (a form shows the message beside it)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class JsonFormat:
    """How a class is saved: its format tag and version, its error, its name in errors."""

    tag: str  # "resnet-studio/arch-spec"
    version: int  # files of a newer version are refused
    error: type[FieldError]
    what: str  # what errors call the whole object: "spec"


class JsonDataclass:
    """Mixin for a frozen dataclass saved as JSON; the class sets `JSON` (a JsonFormat) and
    lists what is wrong with a value in `errors()`."""

    JSON: ClassVar[JsonFormat]

    def errors(self) -> list[FieldError]:
        return []

    def validate(self: J) -> J:
        """self, if errors() is empty; else its first error is raised."""
        errs = self.errors()
        if errs:
            raise errs[0]
        return self

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self, format_tag=self.JSON.tag, version=self.JSON.version)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls: type[J], data: dict[str, Any]) -> J:
        f = cls.JSON
        return from_dict(cls, data, version=f.version, error=f.error, what=f.what)

    @classmethod
    def from_json(cls: type[J], text: str) -> J:
        return cls.from_dict(parse_json(text, error=cls.JSON.error, what=cls.JSON.what))


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
    hints = typing.get_type_hints(cls)
    for name in (f.name for f in fields(cls)):
        hint = hints[name]
        args = typing.get_args(hint)
        if typing.get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis:
            out[name] = args[0]
    return out
