"""Model parameters as data: every number carries its unit, its source and its allowed range.

A parameter is declared with :func:`param` inside a pydantic model, so that the same declaration gives the
default, validates a scenario's override and documents itself (``describe``). A value with no published
source says ``source=ASSUMPTION``. Validation is strict, because a scenario file is a user's claim about a
city: a quoted number or a boolean where a number belongs is refused rather than converted, NaN and infinity
are refused, and every number has a range wide enough for any real city and narrow enough that the model
cannot break inside it (:func:`param` refuses a numeric parameter declared without both bounds).
"""

from __future__ import annotations

from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.fields import FieldInfo

ASSUMPTION = "assumption"
FITTED = "fitted"  # the source of a value calibrated to figures (``simcity-kids calibrate``): still uncertain
EVIDENCE_FIT = f"{FITTED}: experiments/calibration/evidence.toml"  # the fit of the defaults to EVIDENCE.md's figures
LEVER = "scenario lever"  # the source of a policy choice (a scenario's lever) rather than of a figure


def param(default: Any, unit: str, source: str, *, ge: float | None = None, gt: float | None = None,
          le: float | None = None, lt: float | None = None, length: int | None = None,
          description: str = "") -> Any:
    """A model parameter: its default, unit, source (a citation, or ``ASSUMPTION``) and allowed range.

    A sequence gives its ``length``; the range of its items (and of a mapping's values) is in its annotation,
    e.g. ``tuple[between(0, 3), ...]``."""
    if not source:
        raise ValueError("every parameter needs a source or ASSUMPTION")
    numeric = isinstance(default, int | float) and not isinstance(default, bool)
    if numeric and (ge is None and gt is None or le is None and lt is None):
        raise ValueError(f"a numeric parameter needs a lower and an upper bound (default {default!r}, {unit})")
    return Field(default, ge=ge, gt=gt, le=le, lt=lt, min_length=length, max_length=length,
                 description=description, json_schema_extra={"unit": unit, "source": source})


def between(low: float, high: float) -> Any:
    """The type of a number in [low, high], for the items of a sequence or the values of a mapping."""
    return Annotated[float, Field(ge=low, le=high)]


class Params(BaseModel):
    """Base of every module's parameter set: strict types, finite numbers, unknown keys refused, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _complete(cls, data: Any) -> Any:
        """What a file leaves out keeps its default, also inside a section (``[needs.vision]`` with one key)
        or a mapping; TOML arrays become the tuples that parameters are declared as."""
        if not isinstance(data, dict):
            return data
        completed = dict(data)
        for name, value in data.items():
            field = cls.model_fields.get(name) if isinstance(name, str) else None
            default = None if field is None else field.default
            if isinstance(value, list) and isinstance(default, tuple):
                completed[name] = tuple(value)
            elif isinstance(value, dict) and isinstance(default, BaseModel):
                completed[name] = {**default.model_dump(), **value}
            elif isinstance(value, dict) and isinstance(default, dict):
                completed[name] = {**default, **value}
        return completed

    @classmethod
    def describe(cls) -> list[dict[str, Any]]:
        """One row per parameter: name, default, unit, allowed range, source, description."""
        rows = []
        for name, field in cls.model_fields.items():
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            rows.append({"name": name, "default": field.default, "unit": extra.get("unit", ""),
                         "range": _range(field), "source": extra.get("source", ""),
                         "description": field.description or ""})
        return rows


def _range(field: FieldInfo) -> str:
    """A field's bounds in words: '>= 0 and <= 1', or '13 items, each >= 0 and <= 3' for a sequence, or the
    range of a mapping's values ('' when there is none, as for a choice)."""
    items = [inner for arg in get_args(field.annotation) if get_origin(arg) is Annotated
             for info in arg.__metadata__ for inner in getattr(info, "metadata", [info])]
    length = next((item.min_length for item in field.metadata if getattr(item, "min_length", None)), None)
    bounds = _bounds(items if items else field.metadata)
    if length is not None:
        return f"{length} items, each {bounds}" if bounds else f"{length} items"
    return f"each {bounds}" if items and bounds else bounds


def _bounds(metadata: list[Any]) -> str:
    words = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    return " and ".join(f"{symbol} {getattr(item, name):g}" for item in metadata for name, symbol in words.items()
                        if getattr(item, name, None) is not None)
