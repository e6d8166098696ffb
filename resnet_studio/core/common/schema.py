"""Strict JSON in: the files a user hands the app (spec, training config, checkpoint sidecar)
are read only if they are regular files, parsed with a nesting limit, and every value is
checked against the type its field declares before anything uses it.

The rules, for every schema here:
- true/false only where a bool belongs (the string "false" is not false);
- whole numbers where an int belongs: not true/false, not 2.5; an integral float such as 3.0
  is taken as 3 (other tools write JSON numbers as floats);
- finite numbers only: NaN, Infinity and literals that overflow (1e400) are refused;
- strings where strings belong; lists where lists belong, each item checked;
- unknown keys are refused, naming the known ones (or the close one the user meant).

A check returns the value converted (3.0 -> 3, a list -> a tuple) or raises `Invalid` with a
message that says what was expected and what was found; the caller ties it to a field.
"""

from __future__ import annotations

import dataclasses
import difflib
import errno
import json
import math
import os
import re
import stat
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

MAX_JSON_DEPTH = 32  # the deepest file the app writes nests 5 levels
MAX_SETTINGS_BYTES = 1 << 20  # a spec or a training config (they are a few hundred bytes)

Check = Callable[[Any], Any]


class Invalid(ValueError):
    """A value that does not fit its schema; the message reads after "field 'x': "."""


class UserFileError(OSError):
    """A file the user named cannot be read; str() is the sentence alone (no "[Errno 2]")."""

    def __str__(self) -> str:
        return self.strerror or super().__str__()


class NotRegularFileError(UserFileError):
    """A FIFO, a device, a socket or a folder where a file was expected: refused before it is
    read (reading a FIFO would wait forever for a writer)."""


# -- files -------------------------------------------------------------------------------------

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def not_regular(path: Path, mode: int, what: str) -> NotRegularFileError:
    return NotRegularFileError(errno.EINVAL, f"the {what} file {path} is not a regular file "
                               f"(it is {_kind(mode)})")


def check_regular_file(path: str | Path, what: str) -> Path:
    """`path` if it names a regular file (links followed); it is not opened."""
    p = Path(path).expanduser()
    try:
        mode = os.stat(p).st_mode
    except OSError as e:
        raise _cannot_read(p, what, e) from None
    if not stat.S_ISREG(mode):
        raise not_regular(p, mode, what)
    return p


def read_text_file(path: str | Path, what: str, max_bytes: int = MAX_SETTINGS_BYTES) -> str:
    """A regular file's UTF-8 text. Opened without blocking and checked on the open file, so a
    FIFO swapped in after a check cannot hang the app either."""
    p = Path(path).expanduser()
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(p, flags)
    except OSError as e:
        raise _cannot_read(p, what, e) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise not_regular(p, info.st_mode, what)
        if info.st_size > max_bytes:
            raise Invalid(f"{p} is too large for a {what} file ({info.st_size:,} bytes; at "
                          f"most {max_bytes:,})")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as f:
        data = f.read(max_bytes + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Invalid(f"{p} is not a {what} file: not UTF-8 text (byte {e.start})") from None


def _cannot_read(p: Path, what: str, e: OSError) -> UserFileError:
    return UserFileError(e.errno, f"cannot read the {what} file {p}: {e.strerror or e}")


# -- parsing -----------------------------------------------------------------------------------

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST = re.compile(rb"\[\]|\{\}")


def _brackets(text: str) -> bytes:
    """The JSON text's brackets alone, those inside strings left out."""
    return _JSON_STRING.sub("", text).encode("utf-8", "replace").translate(None, _NOT_BRACKETS)


def _nests_deeper(brackets: bytes, limit: int) -> bool:
    """Whether the brackets nest more than `limit` deep: peel the innermost pairs `limit`
    times (each pass in C; a 10 MB sidecar takes milliseconds) and see whether pairs remain."""
    for _ in range(limit):
        brackets, peeled = _INNERMOST.subn(b"", brackets)
        if not peeled:
            return False  # all gone, or unbalanced (json.loads will say where)
    return _INNERMOST.search(brackets) is not None


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON text (strings skipped), without parsing."""
    depth = deepest = 0
    for c in _brackets(text):
        depth += 1 if c in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def parse_json(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads with every failure a one-line `Invalid`: syntax, nesting deeper than
    `max_depth` (checked before parsing: a 100,000-deep list would exhaust the stack), huge
    integer literals."""
    if _nests_deeper(_brackets(text), max_depth):
        raise Invalid(f"nested {json_depth(text)} levels deep; at most {max_depth} are allowed")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise Invalid(f"not valid JSON ({e.msg}, line {e.lineno})") from None
    except RecursionError:
        raise Invalid(f"nested too deeply; at most {max_depth} levels are allowed") from None
    except ValueError as e:  # an integer literal over Python's 4,300-digit limit
        reason = "a number of more than 4,300 digits" if "4300" in str(e) else str(e)
        raise Invalid(f"not valid JSON ({reason})") from None


# -- values ------------------------------------------------------------------------------------

def describe(value: Any) -> str:
    """A JSON value as a user would name it: 'the string "false"', 'true', 'null', 'a list'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, float) and math.isinf(value):
        return "an infinite number (too large for a float, like 1e400)"
    if isinstance(value, int) and value.bit_length() > 64:
        return f"a whole number of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {json.dumps(shown)}"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise Invalid(f"expected true or false, got {describe(value)}")


def as_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    raise Invalid(f"expected a whole number, got {describe(value)}")


def as_float(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out = float(value) if abs(value) < 2 ** 1000 else math.inf  # a huge int is no float
        if math.isfinite(out):
            return out
    raise Invalid(f"expected a finite number, got {describe(value)}")


def as_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise Invalid(f"expected a string, got {describe(value)}")


def as_object(value: Any) -> dict:
    if isinstance(value, dict):
        return value
    raise Invalid(f"expected an object ({{...}}), got {describe(value)}")


def as_number(value: Any) -> float:
    """A recorded measurement: any number, NaN and infinity included (a diverged loss)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise Invalid(f"expected a number, got {describe(value)}")


def list_of(item: Check, length: int | None = None) -> Check:
    """A check for a JSON list (of exactly `length` items, if given) whose every item passes
    `item`; gives a tuple."""

    def check(value: Any) -> tuple:
        if not isinstance(value, list):
            raise Invalid(f"expected a list, got {describe(value)}")
        if length is not None and len(value) != length:
            raise Invalid(f"expected a list of {length}, got {describe(value)}")
        out = []
        for i, v in enumerate(value):
            try:
                out.append(item(v))
            except Invalid as e:
                raise Invalid(f"item {i + 1} of the list: {e}") from None
        return tuple(out)

    return check


def optional(check: Check) -> Check:
    """null, or what `check` accepts."""
    return lambda value: None if value is None else check(value)


def mapping(value_check: Check) -> Check:
    """An object with any keys, each value passing `value_check`."""

    def check(value: Any) -> dict:
        for key, item in as_object(value).items():
            try:
                value_check(item)
            except Invalid as e:
                raise Invalid(f"key {json.dumps(key)}: {e}") from None
        return value

    return check


_SCALARS: dict[type, Check] = {bool: as_bool, int: as_int, float: as_float, str: as_str}


def check_for(hint: Any, *, finite: bool = True) -> Check:
    """The check for a dataclass field's type: bool, int, float (any number if not `finite`),
    str, `X | None`, `tuple[X, ...]`."""
    if hint is float and not finite:
        return as_number
    if hint in _SCALARS:
        return _SCALARS[hint]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in args and len(args) == 2:
        return optional(check_for(next(a for a in args if a is not type(None)), finite=finite))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return list_of(check_for(args[0], finite=finite))
    raise TypeError(f"no JSON check for {hint!r}")


def dataclass_checks(cls: type, *, finite: bool = True) -> dict[str, Check]:
    """{field: the check for its declared type} of a dataclass, in declaration order."""
    hints = typing.get_type_hints(cls)
    return {f.name: check_for(hints[f.name], finite=finite) for f in dataclasses.fields(cls)}


# -- objects -----------------------------------------------------------------------------------

def unknown_keys(data: dict, known: Iterable[str]) -> str | None:
    """A message for the keys of `data` not in `known` (None if there are none)."""
    known = list(known)
    unknown = [k for k in data if k not in known]
    if not unknown:
        return None
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.75)
        hints.append(f"'{key}' (did you mean '{close[0]}'?)" if close else f"'{key}'")
    return (f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(hints)}; the known "
            f"fields are {', '.join(known)}")


@dataclasses.dataclass(frozen=True)
class JsonObject:
    """The shape of a JSON object: per key a check or a nested JsonObject. Unknown keys are
    refused; `problems` lists every one found as (dotted path, message)."""

    fields: dict[str, Any]  # key -> Check | JsonObject
    nullable: bool = False  # null is accepted too
    required: bool = False  # every key must be present (else each may be left out)

    def problems(self, value: Any, path: str = "") -> list[tuple[str, str]]:
        if value is None and self.nullable:
            return []
        if not isinstance(value, dict):
            return [(path, f"expected an object ({{...}}), got {describe(value)}")]
        out = []
        unknown = unknown_keys(value, self.fields)
        if unknown:
            out.append((path, unknown))
        for key, rule in self.fields.items():
            where = f"{path}.{key}" if path else key
            if key not in value:
                if self.required:
                    out.append((where, "is missing"))
            elif isinstance(rule, JsonObject):
                out += rule.problems(value[key], where)
            else:
                try:
                    rule(value[key])
                except Invalid as e:
                    out.append((where, str(e)))
        return out


def check_fields(data: dict, checks: dict[str, Check]) -> tuple[dict[str, Any],
                                                                list[tuple[str, str]]]:
    """({field: converted value} for the fields present and valid, [(field, problem)])."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for name, check in checks.items():
        if name not in data:
            continue
        try:
            values[name] = check(data[name])
        except Invalid as e:
            problems.append((name, str(e)))
    return values, problems


__all__ = ["MAX_JSON_DEPTH", "Invalid", "JsonObject", "NotRegularFileError", "UserFileError",
           "as_bool", "as_float", "as_int", "as_number", "as_object", "as_str", "check_fields",
           "check_for", "check_regular_file", "dataclass_checks", "describe", "json_depth",
           "list_of", "mapping", "optional", "parse_json", "read_text_file", "unknown_keys"]
