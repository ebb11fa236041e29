"""Step by step: one run advanced month by month with Mesa's own controller (reset, play, step).

Mesa's ``ModelController`` rebuilds a model from keyword arguments plus a Mesa scenario object when reset; the
:class:`SteppedModel` takes both, and ignores the Mesa scenario, since a simcity-kids scenario is its ``config``.
The panel's figures read ``mesa.visualization.utils.update_counter``, which the controller bumps after each step.
"""

from __future__ import annotations

from calendar import month_abbr
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import solara

from ...city.profile import CityProfile
from ...model import CityModel
from ...scenario import ScenarioConfig
from ..figure import Figure
from ..state import Session


class SteppedModel(CityModel):
    """A CityModel that Mesa's controller can rebuild (see the module docstring)."""

    def __init__(self, config: ScenarioConfig | str | Path | None = None, city: CityProfile | str | Path = "salem",
                 seed: int = 0, years: int = 10, scale: float = 1.0, scenario: object = None):
        super().__init__(config, city, seed=seed, years=years, scale=scale)


def month_label(model: CityModel) -> str:
    """'Jan, school year 2' for the month the model will run next."""
    return f"{month_abbr[model.calendar_month]}, school year {model.school_year}"


def current_state(model: CityModel) -> pd.DataFrame:
    """What the city looks like now: pupils, mean attendance and scores, and each programme's enrolment (children
    of the whole city)."""
    children = model.children
    pupils = children.school >= 0
    rows = [("pupils", f"{np.count_nonzero(pupils) * model.child_weight:,.0f}"),
            ("mean attendance this month", f"{children.attendance[pupils].mean():.1%}" if pupils.any() else "-"),
            ("mean reading score (SD)", f"{children.reading[pupils].mean():+.3f}" if pupils.any() else "-"),
            *((f"enrolled: {p.name.replace('_', ' ')}",
               f"{np.count_nonzero(getattr(children, p.enrolled)) * model.child_weight:,.0f}")
              for p in model.programmes)]
    return pd.DataFrame(rows, columns=["measure", "value"])


def monthly_gaps(trace: pd.DataFrame) -> go.Figure:
    """The monthly income and disadvantage gaps among pupils so far (the run's trace), one line each."""
    figure = go.Figure()
    for metric, rows in trace.groupby("metric", sort=False):
        month = rows.year * 12 + (rows.month - 9) % 12
        figure.add_trace(go.Scatter(x=month, y=rows.value, mode="lines", name=str(metric)))
    return figure.update_layout(title="Gaps among pupils, month by month", xaxis_title="months since the start",
                                yaxis_title="gap (SD)", template="plotly_white")


@solara.component
def StepPanel(session: Session):
    from mesa.visualization.solara_viz import ModelController  # altair and matplotlib: 1.3 s, for this tab only

    model = solara.use_reactive(None)
    parameters = solara.use_reactive({})
    scale = solara.use_reactive(5.0)
    play_ms, months_per_draw, threads = solara.use_reactive(200), solara.use_reactive(1), solara.use_reactive(False)

    def start() -> None:
        kwargs = {"config": session.scenario.value, "city": session.city.value, "seed": 0,
                  "years": session.years.value, "scale": scale.value}
        parameters.set(kwargs)
        model.set(SteppedModel(**kwargs))

    with solara.Column():
        with solara.Row(style={"align-items": "center"}):
            solara.Select("one simulated child stands for", values=[1.0, 2.0, 5.0, 10.0], value=scale)
            solara.Button(f"Start {session.scenario.value.name} in {session.city.value.name}", on_click=start,
                          color="primary", classes=["simcity-step-start"])
        if model.value is None:
            solara.Info("Start a run, then step it a month at a time or play it.")
            return
        ModelController(model, model_parameters=parameters, play_interval=play_ms, render_interval=months_per_draw,
                        use_threads=threads)
        ModelState(model.value)


@solara.component
def ModelState(model: CityModel):
    from mesa.visualization.solara_viz import ShowSteps
    from mesa.visualization.utils import update_counter

    update_counter.get()  # drawn again after every step of the controller
    ShowSteps(model)
    solara.Markdown(f"**Next month: {month_label(model)}**")
    with solara.ColumnsResponsive(12, large=[4, 8]):
        solara.DataFrame(current_state(model), items_per_page=20)
        trace = model.outcomes.trace()
        if trace.empty:
            solara.Text("No month has run yet.")
        else:
            Figure(monthly_gaps(trace))
