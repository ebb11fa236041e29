"""One browser session's choices and results.

Each session (each browser tab) builds its own :class:`Session` when its page is first drawn, so two cabinets on
one server never see each other's city, scenario or results; what the choices compute is shared by content only
(``jobs.py``). A choice that the scenario's schema refuses is kept in the control, with the schema's message
shown, while the scenario stays at the last valid one: a cabinet can fix the other key rather than start over.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import solara

from ..city.profile import CityProfile, load_city
from ..core.validation import ConfigError
from ..scenario import ScenarioConfig, load_scenario
from .defaults import DEFAULT_CITY, DEFAULT_REFERENCE, DEFAULT_SCALE, DEFAULT_SCENARIO, DEFAULT_SEEDS, DEFAULT_YEARS

EDITED = "_edited"  # added to a shipped scenario's name once the builder changes it


class Session:
    """Reactive state of one session: the city, the scenario being built, what to compare it with, the results."""

    def __init__(self) -> None:
        self.city_choice = solara.reactive(DEFAULT_CITY)  # a built-in name, or the path of a city file or folder
        self.city: solara.Reactive[CityProfile] = solara.reactive(load_city(DEFAULT_CITY))
        self.city_error = solara.reactive("")
        # The scenario the builder started from (a shipped one or a file), the controls' values on top of it (dotted
        # path -> value), and the scenario they make.
        self.base: solara.Reactive[ScenarioConfig] = solara.reactive(load_scenario(DEFAULT_SCENARIO)[0])
        self.overrides: solara.Reactive[dict[str, Any]] = solara.reactive({})
        self.scenario: solara.Reactive[ScenarioConfig] = solara.reactive(self.base.value)
        self.scenario_error = solara.reactive("")
        self.reference = solara.reactive(DEFAULT_REFERENCE)
        self.others: solara.Reactive[list[str]] = solara.reactive([])  # shipped scenarios compared as well
        self.seeds = solara.reactive(DEFAULT_SEEDS)
        self.years = solara.reactive(DEFAULT_YEARS)
        self.scale = solara.reactive(DEFAULT_SCALE)
        self.comparison = solara.reactive(None)  # the last finished Comparison
        self.run_error = solara.reactive("")

    # --- city -------------------------------------------------------------------------------------------------
    def choose_city(self, choice: str) -> None:
        """A built-in city by name, or a city TOML file or folder of CSV files by path; an error is shown and the
        city kept. The scenario is checked again, as its neighborhood and school names depend on the city."""
        self.city_choice.set(choice)
        try:
            city = load_city(choice.strip())
        except ConfigError as exc:
            self.city_error.set(str(exc))
            return
        self.city_error.set("")
        self.city.set(city)

    # --- scenario ---------------------------------------------------------------------------------------------
    def start_from(self, name: str) -> None:
        """Start the builder again from a shipped scenario (``scenarios/``)."""
        self._start(load_scenario(name)[0])

    def _start(self, config: ScenarioConfig) -> None:
        self.base.set(config)
        self.overrides.set({})
        self.scenario_error.set("")
        self.scenario.set(config)

    def set_parameter(self, path: str, value: Any) -> None:
        """Set one dotted parameter (``programmes.summer.coverage``) and rebuild the scenario."""
        overrides = {**self.overrides.value, path: value}
        self.overrides.set(overrides)
        self._rebuild(overrides)

    def value(self, path: str) -> Any:
        """What a control shows: the session's own choice, else the scenario's value."""
        if path in self.overrides.value:
            return self.overrides.value[path]
        return lookup(self.scenario.value, path)

    def load_toml(self, text: str, filename: str) -> None:
        """A scenario file the user brings: it replaces the builder's scenario (errors are shown)."""
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(filename).name
            path.write_text(text, encoding="utf-8")
            try:
                config, _ = load_scenario(path)
            except ConfigError as exc:
                self.scenario_error.set(str(exc).replace(str(path), Path(filename).name))
                return
        self._start(config)

    def _rebuild(self, overrides: dict[str, Any]) -> None:
        base = self.base.value
        changes = {key: value for key, value in overrides.items() if key != "name"}
        name = overrides.get("name") or (base.name + EDITED if changes else base.name)
        try:
            self.scenario.set(base.with_overrides({**changes, "name": name}, source="dashboard"))
        except ConfigError as exc:
            self.scenario_error.set(str(exc))
            return
        self.scenario_error.set("")

    # --- comparison -------------------------------------------------------------------------------------------
    def compared(self) -> list[ScenarioConfig]:
        """The scenarios a comparison runs: the reference first, the builder's scenario, then the other shipped
        scenarios chosen (each name once)."""
        chosen = [load_scenario(self.reference.value)[0], self.scenario.value,
                  *(load_scenario(name)[0] for name in self.others.value)]
        unique: dict[str, ScenarioConfig] = {}
        for config in chosen:
            unique.setdefault(config.name, config)
        return list(unique.values())


def lookup(config: ScenarioConfig, path: str) -> Any:
    """A scenario's value at a dotted path."""
    node: Any = config
    for part in path.split("."):
        node = getattr(node, part)
    return node
