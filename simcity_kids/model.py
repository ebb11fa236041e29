"""CityModel: a small Mesa model that runs an explicit, ordered list of modules once a month.

The order of events each month is the list in ``CityModel.modules``:
population turnover (September) -> English acquisition -> governance -> awareness -> needs and attendance ->
programmes (referrals first, then services; ``programmes.registered``) -> early childhood -> learning -> leaving
school -> outcomes.
Children and families are struct-of-arrays state (``core/state.py``); schools, providers and the cabinet are
Mesa agents. Every draw comes from a named stream seeded from the run's seed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mesa
import numpy as np

from .city.institutions import Provider, School, school_quality
from .city.history import restore, steady_state
from .city.population import generate, social_ties
from .city.profile import CityProfile, load_city
from .core.calendar import Calendar
from .core.rng import Streams
from .core.validation import check_arguments
from .outcomes import Outcomes
from .programmes import registered
from .programmes.base import Programme
from .programmes.referrals import Referrals
from .rules.awareness import Awareness
from .rules.early_childhood import EarlyChildhood
from .rules.english import EnglishAcquisition
from .rules.governance import Cabinet, Governance
from .rules.learning import Learning
from .rules.leaving import LeavingSchool
from .rules.needs import Needs
from .rules.turnover import Population
from .scenario import ScenarioConfig, load_scenario


class CityModel(Calendar, mesa.Model):
    """Children, families, schools and providers of one city, under one scenario, for one seed."""

    def __init__(self, scenario: ScenarioConfig | str | Path | None = None,
                 city: CityProfile | str | Path = "salem", seed: int = 0, years: int = 10, scale: float = 1.0,
                 history: bytes | None = None):
        """``history``: the burned-in city for this world and seed when computed elsewhere (``city/history.py``;
        an experiment's workers get it with their runs), else it is computed here once per seed and kept."""
        check_arguments(years=years, seed=seed, scale=scale)
        config, source = load_scenario(scenario)
        full_city = load_city(city)
        if config.population.burn_in_years == 0:
            self.build(config, source, full_city, seed, scale, start_month=0)
        else:
            restore(self, steady_state(config, full_city, seed, scale, history))
            self.adopt_policy(config, source)
        self.years = years

    def build(self, config: ScenarioConfig, source: str, full_city: CityProfile, seed: int, scale: float,
              start_month: int) -> None:
        """Generate the city's families, children and institutions, ``-start_month`` months before year 0."""
        super().__init__(rng=np.random.SeedSequence(seed))
        self.config, self.config_source = config, source
        self.full_city = full_city
        self.city = full_city.scaled(scale)  # what is simulated: 1/scale of the children and slots
        self.seed, self.scale = seed, scale
        self.streams = Streams(seed)
        self.start_month = self.month = start_month  # months since September of school year 0
        self.child_weight = self.full_city.pupils / self.city.pupils  # real children per simulated child
        self.travel_minutes = self.city.travel_minutes
        cfg = self.config

        self.families, self.children = generate(self.city, cfg.population, self.streams)
        self.ties = social_ties(self.families, cfg.population, self.streams)
        qualities = school_quality(self.city.schools, self.streams("schools.quality"), cfg.learning.school_quality_sd)
        self.schools = [School(self, spec, q) for spec, q in zip(self.city.schools, qualities)]
        self.providers = [Provider(self, spec) for spec in self.city.providers]
        self.cabinet = Cabinet(self, cfg.cabinet)
        self.referrals = Referrals()

        self.population = Population(self, cfg.population)
        self.english = EnglishAcquisition(self, cfg.english)
        self.governance = Governance()
        self.needs = Needs(self, cfg.needs)
        self.awareness = Awareness(self, cfg.access)
        self.early_childhood = EarlyChildhood(self, cfg.early_childhood)
        self.learning = Learning(self, cfg.learning)
        self.outcomes = Outcomes(self, cfg.outcomes)
        self.leaving_school = LeavingSchool(self, cfg.leaving_school)
        self.programmes: list[Programme] = [cls(self, getattr(cfg.programmes, cls.name)) for cls in registered()]

    def adopt_policy(self, config: ScenarioConfig, source: str) -> None:
        """Switch a burned-in city to the scenario's policy at the start of year 0: the cabinet and every programme
        whose levers differ are built anew; they keep the arrays (the children's history) their predecessors had."""
        if config.cabinet != self.cabinet.params:
            self.cabinet.remove()
            self.cabinet = Cabinet(self, config.cabinet)
        self.config, self.config_source = config, source
        with self.children.adopting(), self.families.adopting():
            self.programmes = [programme if programme.config == getattr(config.programmes, programme.name)
                               else type(programme)(self, getattr(config.programmes, programme.name))
                               for programme in self.programmes]

    @property
    def modules(self) -> list:
        """The month's modules, in order (the module docstring)."""
        return [self.population, self.english, self.governance, self.awareness, self.needs, *self.programmes,
                self.early_childhood, self.learning, self.leaving_school, self.outcomes]

    def turn_over(self) -> None:
        """September's turnover, before the month's other rules: the population's (leavers, ageing, births, school
        places), then English learners' (reclassified, kindergartners classified). The modules do it themselves
        once per school year; the burn-in ends with year 0's, so that every run starts in its first September
        with that year's children, as a generated city does."""
        self.population.start_school_year(self)
        self.english.start_school_year(self)

    def programme(self, name: str) -> Programme:
        """The programme module called ``name``."""
        for programme in self.programmes:
            if programme.name == name:
                return programme
        raise KeyError(f"no programme '{name}'; known: {', '.join(p.name for p in self.programmes)}")

    # --- running --------------------------------------------------------------------------------------------
    def step(self) -> None:
        """One month: every module in order. ``running`` (Mesa's flag) turns False after the last month."""
        self.advance()
        self.running = self.month < self.years * 12

    def advance(self) -> None:
        """Every module's rules for one month (also in the burn-in, ``city/history.py``)."""
        for module in self.modules:
            module.step(self)
        self.month += 1

    def run(self, progress: bool = False) -> CityModel:
        """Run every month of every year; ``progress`` draws a bar of years (tqdm) on a terminal's stderr."""
        from tqdm.auto import tqdm

        with tqdm(total=self.years, initial=self.month // 12, desc="simulating", unit="year",
                  disable=not (progress and sys.stderr.isatty()), leave=False) as bar:
            while self.month < self.years * 12:
                self.step()
                if self.month % 12 == 0:
                    bar.update(1)
        return self

    def init_new_children(self, new: np.ndarray) -> None:
        """Let every module give newborns its initial state (called by the population module)."""
        for module in self.modules:
            init = getattr(module, "init_children", None)
            if init is not None:
                init(self, new)

