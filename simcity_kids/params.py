"""Model parameters as data: every number carries its unit and its source.

A parameter is declared with :func:`param` inside a pydantic model, so that the same declaration gives the
default, validates a scenario's override (type and range) and documents itself (``describe``). A value
with no published source says ``source=ASSUMPTION``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ASSUMPTION = "assumption"


def param(default: Any, unit: str, source: str, *, ge: float | None = None, gt: float | None = None,
          le: float | None = None, description: str = "") -> Any:
    """A model parameter: its default, unit, source (a citation, or ``ASSUMPTION``) and allowed range."""
    if not source:
        raise ValueError("every parameter needs a source or ASSUMPTION")
    return Field(default, ge=ge, gt=gt, le=le, description=description,
                 json_schema_extra={"unit": unit, "source": source})


class Params(BaseModel):
    """Base of every module's parameter set: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=True)

    @classmethod
    def describe(cls) -> list[dict[str, Any]]:
        """One row per parameter: name, default, unit, source, description."""
        rows = []
        for name, field in cls.model_fields.items():
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            rows.append({"name": name, "default": field.default, "unit": extra.get("unit", ""),
                         "source": extra.get("source", ""), "description": field.description or ""})
        return rows
