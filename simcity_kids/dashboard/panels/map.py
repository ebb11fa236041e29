"""Map: the city's neighborhoods on their network, coloured by what a cabinet asks of a place."""

from __future__ import annotations

import solara

from ...experiments.figures import MAP_MEASURES, neighborhood_map
from ..figure import Figure
from ..state import Session


@solara.component
def MapPanel(session: Session):
    comparison = session.comparison.value
    measure = solara.use_reactive("gap")
    chosen = solara.use_reactive(None)
    if comparison is None:
        solara.Info("Run a comparison first: the map shows its results by neighborhood.")
        return
    scenarios = list(comparison.plan.scenarios)
    scenario = chosen.value if chosen.value in scenarios else scenarios[-1]
    with solara.Column():
        with solara.Row():
            solara.Select("Scenario", values=scenarios, value=scenario, on_value=chosen.set)
            solara.Select("Colour by", values=list(MAP_MEASURES), value=measure)
        solara.Text(MAP_MEASURES[measure.value][0])
        Figure(neighborhood_map(comparison, scenario, measure.value))
