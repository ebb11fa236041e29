"""Scenario builder: every programme (and the cabinet) as a card, its controls made from its declarations.

A card is switched on by its main lever (a programme's coverage, the cabinet's coordination). The yearly cost is
estimated in the background from a short sample run of the model's own funding rules whenever the scenario or the
city changes (``jobs.yearly_cost``), so the page stays responsive while it is computed.
"""

from __future__ import annotations

from functools import cache

import solara
import solara.lab

from ...programmes import registered
from ...rules.governance import CabinetParams
from ...scenario import builtin_scenarios, scenario_question
from .. import jobs
from ..controls import Declared, ParameterInput, declared
from ..state import Session, lookup

SWITCH = {"cabinet": "coordination"}  # a card's on-switch lever; "coverage" for programmes
SWITCHED_ON = 0.5  # the switch's value when the starting scenario had none (assumption: half coverage to start)


@cache
def cards() -> list[tuple[str, str, list[Declared]]]:
    """(title, scenario section, declared parameters) of every card: the cabinet, then each programme."""
    return [("children's cabinet", "cabinet", declared("cabinet", CabinetParams)),
            *((cls.name.replace("_", " "), f"programmes.{cls.name}",
               declared(f"programmes.{cls.name}", cls.config_class)) for cls in registered())]


def switch_path(section: str) -> str:
    return f"{section}.{SWITCH.get(section, 'coverage')}"


@solara.component
def ScenarioBuilder(session: Session):
    shipped = builtin_scenarios()
    with solara.Column():
        with solara.Row(style={"align-items": "center"}):
            solara.Select("Start from", values=list(shipped), value=session.base.value.name
                          if session.base.value.name in shipped else None, on_value=session.start_from)
            # Committed as typed: a field that waits for Enter loses its text if the page is redrawn meanwhile.
            solara.InputText("Scenario name", value=session.scenario.value.name,
                             on_value=lambda name: session.set_parameter("name", name), continuous_update=True)
        if session.base.value.name in shipped:
            solara.Text(scenario_question(shipped[session.base.value.name]), style={"font-style": "italic"})
        solara.FileDrop(label="... or drop a scenario TOML file here",
                        on_file=lambda file: session.load_toml(file["data"].decode("utf-8"), file["name"]),
                        lazy=False)
        if session.scenario_error.value:
            solara.Error(session.scenario_error.value)
        YearlyCost(session)
        with solara.ColumnsResponsive(12, large=6):
            for title, section, parameters in cards():
                ProgrammeCard(session, title, section, parameters)


@solara.component
def YearlyCost(session: Session):
    scenario, city = session.scenario.value, session.city.value
    estimate = solara.lab.use_task(lambda: jobs.yearly_cost(scenario, city),
                                   dependencies=[scenario.config_hash(), city.name, city.pupils])
    with solara.Card("Yearly cost at full phase-in", classes=["simcity-yearly-cost"]):
        solara.ProgressLinear(estimate.pending)
        if estimate.error:
            solara.Error(f"could not estimate the cost: {estimate.exception}")
        elif estimate.latest is not None:
            costs = estimate.latest
            solara.Markdown(f"**Total: ${costs['total']:,.0f} a year** in {city.name}")
            solara.Text("; ".join(f"{name.replace('_', ' ')} ${usd:,.0f}" for name, usd in costs.items()
                                  if name != "total") or "no programme funded")


@solara.component
def ProgrammeCard(session: Session, title: str, section: str, parameters: list[Declared]):
    switch = switch_path(section)
    on = bool(session.value(switch))
    more = solara.use_reactive(False)

    def turn(value: bool) -> None:
        session.set_parameter(switch, (lookup(session.base.value, switch) or SWITCHED_ON) if value else 0.0)

    city = session.city.value
    names = {"neighborhoods": [hood.name for hood in city.neighborhoods],
             "schools": [school.name for school in city.schools]}
    with solara.Card(classes=["simcity-card", f"simcity-card-{section.rsplit('.', 1)[-1]}"]):
        solara.Switch(label=title, value=on, on_value=turn)
        if not on:
            return
        levers = [p for p in parameters if p.lever and p.path != switch]
        for parameter in [next(p for p in parameters if p.path == switch), *levers]:
            ParameterInput(parameter, session.value(parameter.path),
                           lambda value, path=parameter.path: session.set_parameter(path, value),
                           names.get(parameter.name))
        evidence = [p for p in parameters if not p.lever]
        if evidence:
            solara.Button(f"{'hide' if more.value else 'show'} the {len(evidence)} sourced parameters",
                          text=True, on_click=lambda: more.set(not more.value))
        if more.value:
            for parameter in evidence:
                ParameterInput(parameter, session.value(parameter.path),
                               lambda value, path=parameter.path: session.set_parameter(path, value))
