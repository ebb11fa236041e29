"""Controls made from parameter declarations: a new programme or parameter appears in the dashboard with no UI code.

:func:`declared` reads a parameter set (``param(value, unit, source, bounds)`` in ``core/params.py``) into one
:class:`Declared` per parameter: its dotted path, the kind of control its type calls for, its unit, range, choices
and source. :func:`ParameterInput` draws it. The scenario schema, not the control, decides what is valid, so an
out-of-range value gets the same message as in a scenario file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

import solara

from ..core.params import Params
from ..core.params import LEVER

Kind = Literal["number", "optional_number", "whole", "choice", "flag", "names", "fixed"]


@dataclass(frozen=True)
class Declared:
    """What a parameter's declaration says a control needs."""

    path: str  # dotted path in a scenario, e.g. "programmes.summer.coverage"
    kind: Kind
    unit: str
    source: str
    range: str
    choices: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    @property
    def lever(self) -> bool:
        """A lever is a policy choice (coverage, targeting, budget...); the rest are sourced model parameters."""
        return self.source == LEVER


def declared(section: str, params: type[Params]) -> list[Declared]:
    """One :class:`Declared` per parameter of ``params``, which sits at ``section`` of a scenario."""
    rows = {row["name"]: row for row in params.describe()}
    return [_declared(section, name, field.annotation, rows[name]) for name, field in params.model_fields.items()]


def _declared(section: str, name: str, annotation: Any, row: dict[str, Any]) -> Declared:
    kind, choices = _kind(annotation)
    return Declared(f"{section}.{name}", kind, row["unit"], row["source"], row["range"], choices)


def _kind(annotation: Any) -> tuple[Kind, tuple[str, ...]]:
    """The control a type calls for (and a choice's options)."""
    if annotation is bool:
        return "flag", ()
    if annotation is int:
        return "whole", ()
    if annotation is float:
        return "number", ()
    if get_origin(annotation) is Literal:
        return "choice", tuple(str(option) for option in get_args(annotation))
    if set(get_args(annotation)) == {float, type(None)}:
        return "optional_number", ()
    if get_origin(annotation) is tuple and get_args(annotation) == (str, ...):
        return "names", ()
    return "fixed", ()


@solara.component
def ParameterInput(parameter: Declared, value: Any, on_value, names: list[str] | None = None):
    """One parameter's control, with its unit, allowed range and source beneath. ``names``: what a list of names
    may hold (the city's neighborhoods or schools)."""
    label = parameter.label
    with solara.Column(gap="0px", classes=["simcity-parameter"]):
        if parameter.kind == "number":
            solara.InputFloat(label, value=value, on_value=on_value, continuous_update=False)
        elif parameter.kind == "optional_number":
            solara.InputFloat(label, value=value, on_value=on_value, optional=True, continuous_update=False)
        elif parameter.kind == "whole":
            solara.InputInt(label, value=value, on_value=on_value, continuous_update=False)
        elif parameter.kind == "choice":
            solara.Select(label, values=list(parameter.choices), value=value, on_value=on_value)
        elif parameter.kind == "flag":
            solara.Checkbox(label=label, value=value, on_value=on_value)
        elif parameter.kind == "names":
            solara.SelectMultiple(label, values=list(value), all_values=names or [],
                                  on_value=lambda chosen: on_value(tuple(chosen)))
        else:
            solara.Text(f"{label}: {value!r} (set it in a scenario file)")
        allowed = f"; allowed {parameter.range}" if parameter.range else ""
        source = "" if parameter.lever else f" — source: {parameter.source}"
        solara.Text(f"{parameter.unit}{allowed}{source}", style={"font-size": "0.75em", "color": "#666"})
