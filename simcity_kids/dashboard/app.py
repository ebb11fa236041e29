"""The dashboard's page: a session's state, its background run, and one tab per panel.

Served by ``simcity-kids dashboard`` (or ``solara run simcity_kids.dashboard.app``). A new session starts with
Salem, the By All Means package against the baseline on 5 seeds, and runs that comparison at once, so a cabinet
sees a result before it changes anything.
"""

from __future__ import annotations

import solara
import solara.lab

from .panels.child import FollowPanel
from .panels.city import CityPanel
from .panels.compare import ComparePanel, start_run
from .panels.export import ExportPanel
from .panels.map import MapPanel
from .panels.scenario import ScenarioBuilder
from .panels.steps import StepPanel
from .state import Session

TITLE = "simcity-kids: what closes the gaps?"


@solara.component
def Page():
    session = solara.use_memo(Session, [])
    runner = solara.lab.use_task(lambda: start_run(session, runner), dependencies=None)
    solara.use_effect(lambda: runner() if runner.not_called else None, [])  # the first comparison, at once
    solara.Title(TITLE)
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.lab.Tabs(value=2, lazy=True):
        with solara.lab.Tab("City"):
            CityPanel(session)
        with solara.lab.Tab("Scenario"):
            ScenarioBuilder(session)
        with solara.lab.Tab("Run and compare"):
            ComparePanel(session, runner)
        with solara.lab.Tab("Map"):
            MapPanel(session)
        with solara.lab.Tab("Follow a child"):
            FollowPanel(session)
        with solara.lab.Tab("Step by step"):
            StepPanel(session)
        with solara.lab.Tab("Export"):
            ExportPanel(session)
