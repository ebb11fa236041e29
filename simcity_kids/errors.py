"""One error type for bad input, phrased for the person who wrote the file.

Every message names the file, the key (a dotted path, or a row and column for tables) and what is allowed,
so the CLI can print it on one line and exit with status 2.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError


class ConfigError(ValueError):
    """Bad input: a config, a city file or a dashboard field."""

    def __init__(self, source: str | Path, key: str, problem: str):
        self.source, self.key, self.problem = str(source), key, problem
        # A dotted key is quoted; a place in a table ("row 4, column 'x'") is written as it is.
        where = f"{self.source}: " + (f"{key}: " if " " in key or "'" in key or key == "header"
                                      else f"key '{key}': " if key else "")
        super().__init__(where + problem)


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """Parse a TOML file, turning a missing file or a syntax error into a ConfigError."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(path, "", f"{what} file not found")
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"not valid TOML ({exc})") from None


def _allowed(error: dict[str, Any]) -> str:
    """Say what a pydantic error allows, in words."""
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        return f"must be {op} {next(iter(ctx.values()))} (got {error.get('input')!r})"
    if kind == "value_error":
        return error["msg"].removeprefix("Value error, ")
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected')} (got {error.get('input')!r})"
    return f"{error['msg'].lower()} (got {error.get('input')!r})"


def validate(schema: type[BaseModel], data: dict[str, Any], source: str | Path, prefix: str = "") -> Any:
    """Validate ``data`` against ``schema``; the first problem becomes a ConfigError naming its key."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
        problem = _allowed(error)
        if error["type"] == "extra_forbidden":
            parent = _parent_schema(schema, error["loc"][:-1])
            if parent is not None:
                problem += f"; allowed: {', '.join(sorted(parent.model_fields))}"
        raise ConfigError(source, key, problem) from None


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
