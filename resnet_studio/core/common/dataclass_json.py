"""JSON for the frozen dataclasses a user saves and loads (ArchSpec, TrainConfig).

On the way out, a format tag and a version stand before the fields and tuples become lists.
On the way in, every value is checked against the type its field declares (`core.common.schema`:
true/false for bools, whole numbers for ints, finite numbers, no unknown fields), and all the
problems found are raised together as the class's own field-tagged error (`error(field,
message)`, e.g. SpecError or ConfigError; `.errors` lists each, so a form can show them inline).
A file of another format or of a newer version is refused as a whole.

A dataclass gets `to_dict`, `to_json`, `from_dict`, `from_json`, `load` and `validate` by
deriving from `JsonDataclass`, describing itself in a class variable `JSON = JsonFormat(...)` and
listing its errors in `errors()`. `from_dict`/`from_json` check types only; `load` (a file) also
runs `errors()`, so a file either gives a valid object or every reason it does not.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from resnet_studio.core.common import schema

T = TypeVar("T")
J = TypeVar("J", bound="JsonDataclass")


class FieldError(ValueError):
    """A bad value; `field` names the field to change (a form shows the message beside it).

    `what` names the whole object ("spec") for a value read from JSON: "spec field 'preact':
    expected true or false, got the string \"false\"". `errors` holds every problem found with
    it (see `collected`)."""

    def __init__(self, field_name: str, message: str, what: str = ""):
        text = f"{what} field '{field_name}': {message}" if what and what != field_name \
            else f"{field_name}: {message}"
        super().__init__(text)
        self.field = field_name
        self.message = message
        self.errors: list[FieldError] = [self]


ErrorFactory = type[FieldError]  # called as error(field, message[, what])


def collected(errors: list[FieldError]) -> FieldError:
    """One exception for several field errors: the first one's class and field, every message
    (joined by "; "), and `.errors` with each."""
    if len(errors) == 1:
        return errors[0]
    first = errors[0]
    combined = type(first)(first.field, first.message)
    combined.args = ("; ".join(str(e) for e in errors),)
    combined.errors = list(errors)
    return combined

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
        """self, if errors() is empty; else they are raised together (`collected`)."""
        errs = self.errors()
        if errs:
            raise collected(errs)
        return self

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self, format_tag=self.JSON.tag, version=self.JSON.version)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls: type[J], data: dict[str, Any]) -> J:
        f = cls.JSON
        return from_dict(cls, data, version=f.version, error=f.error, what=f.what,
                         format_tag=f.tag)

    @classmethod
    def from_json(cls: type[J], text: str) -> J:
        return cls.from_dict(parse_json(text, error=cls.JSON.error, what=cls.JSON.what))

    @classmethod
    def load(cls: type[J], path: str | Path) -> J:
        """From a JSON file, validated. A FIFO, device or folder is refused without reading."""
        f = cls.JSON
        try:
            text = schema.read_text_file(path, f.what)
        except schema.Invalid as e:
            raise f.error(f.what, str(e)) from None
        return cls.from_json(text).validate()


def to_dict(obj: Any, *, format_tag: str, version: int) -> dict[str, Any]:
    """{"format": ..., "version": ..., every field}; tuples as lists."""
    data = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(obj).items()}
    return {"format": format_tag, "version": version, **data}


def from_dict(cls: type[T], data: Any, *, version: int, error: ErrorFactory, what: str,
              format_tag: str | None = None) -> T:
    """The dataclass `data` describes, its values checked against the fields' types. `what`
    names the whole object in errors ("spec")."""
    if not isinstance(data, dict):
        raise error(what, f"expected a JSON object, got {schema.describe(data)}")
    if "format" in data and format_tag is not None and data["format"] != format_tag:
        raise error("format", f"expected {json.dumps(format_tag)}, got "
                    f"{schema.describe(data['format'])}: this is not a {what} file")
    if "version" in data:
        try:
            found = schema.as_int(data["version"])
        except schema.Invalid as e:
            raise error("version", str(e)) from None
        if found > version:
            raise error("version", f"written by a newer ResNet Studio (version {found})")
    checks = _field_checks(cls)
    values, problems = schema.check_fields(data, checks)
    errors = [error(name, message, what) for name, message in problems]
    unknown = schema.unknown_keys({k: v for k, v in data.items()
                                   if k not in ("format", "version")}, checks)
    if unknown:
        errors.append(error(what, unknown))
    if errors:
        raise collected(errors)
    return cls(**values)


def parse_json(text: str, *, error: ErrorFactory, what: str) -> Any:
    """json.loads with a nesting limit; any failure is the class's own error."""
    try:
        return schema.parse_json(text)
    except schema.Invalid as e:
        raise error(what, str(e)) from None


_field_checks = functools.cache(schema.dataclass_checks)
