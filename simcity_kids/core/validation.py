"""The one validation layer: every bad input becomes a ConfigError, phrased for the person who wrote it.

Every message names the file (or the argument), the key (a dotted path, or a row and column for tables),
what was given and what is allowed, so the CLI prints it on one line and exits with status 2, the Python API
raises it, and the dashboard shows it beside the field. Schemas (``params.py``, ``city.py``) say what is
allowed; this module reads files defensively and turns pydantic's errors into those messages.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

MAX_FILE_BYTES = 50_000_000  # a city folder's largest table is far smaller; refuse before reading more (assumption)
MAX_YEARS = 20


class ConfigError(ValueError):
    """Bad input: a config, a city file, a function argument or a dashboard field.

    ``argument`` marks an error about an argument (``years``), which the CLI shows as its flag (``--years``)."""

    def __init__(self, source: str | Path, key: str, problem: str, *, argument: bool = False):
        self.source, self.key, self.problem, self.argument = str(source), key, problem, argument
        # A dotted key is quoted; a place in a table ("row 4, column 'x'") is written as it is.
        where = f"{self.source}: " + (f"{key}: " if " " in key or "'" in key or key == "header"
                                      else f"key '{key}': " if key else "")
        super().__init__(_one_line(where + problem))


class InvalidAt(ValueError):
    """Raised inside a schema's cross-field check to point at one key of the model being checked."""

    def __init__(self, key: str, problem: str):
        self.key = key
        super().__init__(problem)


def _one_line(text: str) -> str:
    """Newlines and other control characters from a user's value would break the one-line promise."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


@dataclass(frozen=True)
class Argument:
    """What a function argument (and its command-line flag) allows, in words and as a check."""

    kind: type
    low: float
    high: float
    words: str

    def check(self, name: str, value: Any) -> None:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        whole = isinstance(value, int) and not isinstance(value, bool)
        if not ((whole if self.kind is int else number) and self.low <= value <= self.high):  # NaN fails too
            raise ConfigError(name, "", f"must be {self.words} (got {shown(value)})", argument=True)


ARGUMENTS = {
    "years": Argument(int, 1, MAX_YEARS, f"a whole number between 1 and {MAX_YEARS}"),
    "seed": Argument(int, 0, 2**63 - 1, "a whole number >= 0"),
    "scale": Argument(float, 1, 1000, "a number between 1 and 1000"),
    "pupils": Argument(int, 13, 5_000_000, "a whole number between 13 and 5,000,000"),
    "n_neighborhoods": Argument(int, 2, 400, "a whole number between 2 and 400"),
}


def check_arguments(**values: Any) -> None:
    """Refuse a bad argument of the public API (``years``, ``seed``, ``scale`` ...) with a ConfigError naming it."""
    for name, value in values.items():
        ARGUMENTS[name].check(name, value)


def check_kind(name: str, value: Any, kinds: tuple[type, ...], allowed: str) -> None:
    """Refuse an argument of the wrong type, or an empty string, naming the argument and what it may be."""
    if not isinstance(value, kinds) or isinstance(value, bool) and bool not in kinds or value == "":
        raise ConfigError(name, "", f"must be {allowed} (got {shown(value)})", argument=True)


def shown(value: Any) -> str:
    """A user's value for a message: its repr, cut short so that one line stays readable."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_text(path: str | Path, what: str) -> str:
    """A file's text, with every way of failing to read it (missing, a folder, permissions, too large, not
    UTF-8) as a one-line ConfigError naming the file."""
    path = Path(path)
    try:
        if path.is_dir():
            raise IsADirectoryError
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(path, "", f"is {size:,} bytes; a {what} file may hold at most {MAX_FILE_BYTES:,}")
        data = path.read_bytes()
    except ConfigError:
        raise
    except IsADirectoryError:
        raise ConfigError(path, "", f"is a folder; expected a {what} file") from None
    except FileNotFoundError:
        raise ConfigError(path, "", f"{what} file not found") from None
    except PermissionError:
        raise ConfigError(path, "", f"{what} file cannot be read (permission denied)") from None
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte, a device error
        raise ConfigError(path, "", f"{what} file cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(path, f"line {line}", f"is not UTF-8 text (byte {data[exc.start]:#04x}); save the "
                          "file as UTF-8") from None


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """Parse a TOML file; a missing or unreadable file, a syntax error or absurd nesting is a ConfigError."""
    text = read_text(path, what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(path, "", "not valid TOML here: arrays or tables nested too deeply") from None


def _allowed(error: dict[str, Any]) -> str:
    """Say what a pydantic error allows, in words, with what was given."""
    kind, ctx, given = error["type"], error.get("ctx", {}), shown(error.get("input"))
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
    if kind in bounds:
        return f"must be {bounds[kind]} {next(iter(ctx.values()))} (got {given})"
    if kind == "value_error":  # a schema's own check, whose message says what it got
        return error["msg"].removeprefix("Value error, ")
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected')} (got {given})"
    if kind == "finite_number":
        return f"must be a finite number (got {given})"
    words = {"float_type": "a number", "int_type": "a whole number", "string_type": "text in quotes",
             "bool_type": "true or false", "dict_type": "a table (a [section] or {key = value})",
             "model_type": "a table (a [section] or {key = value})", "tuple_type": "an array",
             "list_type": "an array", "model_attributes_type": "a table (a [section] or {key = value})"}
    if kind in words:
        return f"must be {words[kind]} (got {given})"
    if kind in ("too_short", "too_long"):
        bound = f"at least {ctx['min_length']}" if kind == "too_short" else f"at most {ctx['max_length']}"
        return f"must have {bound} items (got {ctx.get('actual_length')})"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    return f"{error['msg'].lower()} (got {given})"


def validate(schema: type[BaseModel], data: Any, source: str | Path, prefix: str = "") -> Any:
    """Validate ``data`` against ``schema``; the first problem becomes a ConfigError naming its key."""
    if not isinstance(data, dict):
        raise ConfigError(source, prefix, f"must be a table of keys and values (got {shown(data)})")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        cause = error.get("ctx", {}).get("error")
        loc = (*error["loc"], cause.key) if isinstance(cause, InvalidAt) else error["loc"]
        key = ".".join(str(part) for part in (prefix, *loc) if part != "")
        problem = _allowed(error)
        if error["type"] == "extra_forbidden":
            parent = _parent_schema(schema, error["loc"][:-1])
            if parent is not None:
                problem += f"; allowed: {', '.join(sorted(parent.model_fields))}"
        raise ConfigError(source, key, problem) from None
    except RecursionError:
        raise ConfigError(source, prefix, "values nested too deeply") from None


def _parent_schema(schema: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """Follow a pydantic error location to the model that owns the offending key."""
    current: Any = schema
    for part in loc:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = _model_of(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _model_of(annotation: Any) -> Any:
    """The BaseModel inside an annotation such as ``Model``, ``list[Model]`` or ``dict[str, Model]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
