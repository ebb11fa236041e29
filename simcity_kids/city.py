"""City profiles: what a city looks like, read from TOML and checked by a typed schema.

A profile gives the pupils, the neighborhoods (nodes of a networkx graph whose edges carry travel minutes),
the shares by race/ethnicity, economic disadvantage and language, the schools and the providers. The
synthetic population (``population.py``) is generated to match these marginals.
"""

from __future__ import annotations

from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

import networkx as nx
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import ConfigError, read_toml, validate

RACES: tuple[str, ...] = ("white", "black", "latino", "asian", "other")
SCHOOL_LEVELS: dict[str, tuple[int, int]] = {"elementary": (0, 5), "middle": (6, 8), "high": (9, 12)}
PROVIDER_TYPES: tuple[str, ...] = (
    "preschool", "summer", "after_school", "health_clinic", "behavioral_health", "optometrist",
    "food_pantry", "housing_assistance", "mentoring", "college_advising", "homework_help",
)
SHARE_TOLERANCE = 0.005


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Neighborhood(_Strict):
    name: str
    population_share: float = Field(gt=0, le=1, description="share of the city's children living here")
    x_km: float = 0.0
    y_km: float = 0.0
    income_index: float = Field(0.0, ge=-3, le=3, description="log-income shift against the city, in SD")
    race: dict[Literal[RACES], float] | None = Field(  # type: ignore[valid-type]
        None, description="race/ethnicity mix of families; the city's shares when absent")


class Edge(_Strict):
    a: str
    b: str
    minutes: float = Field(gt=0, le=240)


class SchoolSpec(_Strict):
    name: str
    level: Literal["elementary", "middle", "high"]
    neighborhood: str
    capacity: int = Field(gt=0)
    quality: float | None = Field(None, ge=-0.5, le=0.5, description="value added, SD per year")
    counselors: int = Field(1, ge=0)


class ProviderSpec(_Strict):
    name: str
    type: Literal[PROVIDER_TYPES]  # type: ignore[valid-type]
    neighborhood: str
    capacity: int = Field(ge=0, description="slots the provider offers without new city funding")
    quality: float = Field(1.0, ge=0, le=2, description="multiplier on the programme's effect")


class CityProfile(_Strict):
    """A city, as its TOML profile describes it."""

    name: str
    state: str = ""
    sources: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)
    pupils: int = Field(gt=0, le=5_000_000, description="pupils in grades K-12")
    median_household_income_usd: float = Field(75_000, gt=5_000, le=500_000)
    race_shares: dict[Literal[RACES], float]  # type: ignore[valid-type]
    economically_disadvantaged: float = Field(ge=0, le=1)
    first_language_not_english: float = Field(ge=0, le=1)
    english_learners: float = Field(ge=0, le=1)
    neighborhoods: list[Neighborhood] = Field(min_length=1)
    edges: list[Edge] = Field(default_factory=list)
    schools: list[SchoolSpec] = Field(min_length=1)
    providers: list[ProviderSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> CityProfile:
        names = [n.name for n in self.neighborhoods]
        if len(set(names)) != len(names):
            raise ValueError("neighborhood names must be unique")
        for label, shares in [("race_shares", self.race_shares),
                              ("neighborhoods.population_share",
                               {n.name: n.population_share for n in self.neighborhoods})]:
            total = sum(shares.values())
            if abs(total - 1) > SHARE_TOLERANCE:
                raise ValueError(f"{label} must sum to 1 (they sum to {total:.3f})")
        if self.english_learners > self.first_language_not_english + 1e-9:
            raise ValueError("english_learners cannot exceed first_language_not_english")
        known = set(names)
        for kind, items in [("edges", [(e.a, e.b) for e in self.edges]),
                            ("schools", [(s.neighborhood,) for s in self.schools]),
                            ("providers", [(p.neighborhood,) for p in self.providers])]:
            for ends in items:
                for node in ends:
                    if node not in known:
                        raise ValueError(f"{kind} name unknown neighborhood '{node}'; known: {sorted(known)}")
        if not nx.is_connected(self.graph):
            raise ValueError("the neighborhood graph is not connected: every neighborhood needs a route")
        for level in SCHOOL_LEVELS:
            if not any(s.level == level for s in self.schools):
                raise ValueError(f"the city needs at least one {level} school")
        return self

    @cached_property
    def graph(self) -> nx.Graph:
        """Neighborhoods as nodes (with coordinates), edges weighted by travel minutes."""
        graph = nx.Graph()
        for hood in self.neighborhoods:
            graph.add_node(hood.name, pos=(hood.x_km, hood.y_km))
        for edge in self.edges:
            graph.add_edge(edge.a, edge.b, minutes=edge.minutes)
        return graph

    @cached_property
    def travel_minutes(self) -> np.ndarray:
        """Shortest travel time between every pair of neighborhoods, in profile order (minutes)."""
        names = [n.name for n in self.neighborhoods]
        lengths = dict(nx.all_pairs_dijkstra_path_length(self.graph, weight="minutes"))
        return np.array([[lengths[a][b] for b in names] for a in names], dtype=np.float32)

    def neighborhood_index(self, name: str) -> int:
        return [n.name for n in self.neighborhoods].index(name)


def builtin_cities() -> list[str]:
    """Names of the city profiles shipped with the package."""
    folder = resources.files("simcity_kids") / "cities"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_city(city: str | Path | CityProfile = "salem") -> CityProfile:
    """A built-in city by name, or a profile from a TOML path."""
    if isinstance(city, CityProfile):
        return city
    text = str(city)
    if text.endswith(".toml") or Path(text).exists():
        path = Path(text)
    elif text.lower() in builtin_cities():
        path = Path(str(resources.files("simcity_kids") / "cities" / f"{text.lower()}.toml"))
    else:
        raise ConfigError("--city", "", f"unknown city '{text}'; allowed: {', '.join(builtin_cities())} "
                          "or the path of a city TOML file")
    return validate(CityProfile, read_toml(path, "city"), path)


def synthetic_city(pupils: int, n_neighborhoods: int = 16, seed: int = 0) -> CityProfile:
    """A made-up city of any size on a grid of neighborhoods, for benchmarks and scaling tests.

    Shares follow a mid-sized US district (assumption); neighborhoods differ in income so that
    access and school composition vary.
    """
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_neighborhoods)))
    weights = rng.uniform(0.5, 1.5, n_neighborhoods)
    shares = weights / weights.sum()
    hoods = [dict(name=f"N{i}", population_share=float(s), x_km=float(i % side * 2), y_km=float(i // side * 2),
                  income_index=float(rng.normal(0, 0.6))) for i, s in enumerate(shares)]
    hoods[-1]["population_share"] = 1 - sum(h["population_share"] for h in hoods[:-1])
    edges = [dict(a=f"N{i}", b=f"N{j}", minutes=float(rng.uniform(6, 14)))
             for i in range(n_neighborhoods) for j in (i + 1, i + side)
             if j < n_neighborhoods and (j == i + side or j % side)]
    per_school = {"elementary": 450, "middle": 700, "high": 1200}
    schools = []
    for level, (lo, hi) in SCHOOL_LEVELS.items():
        count = max(1, round(pupils * (hi - lo + 1) / 13 / per_school[level]))
        schools += [dict(name=f"{level}-{k}", level=level, neighborhood=f"N{k % n_neighborhoods}",
                         capacity=per_school[level]) for k in range(count)]
    providers = [dict(name=f"{kind}-{k}", type=kind, neighborhood=f"N{k * 3 % n_neighborhoods}",
                      capacity=max(10, pupils // 200)) for kind in PROVIDER_TYPES for k in range(3)]
    return CityProfile(
        name=f"synthetic-{pupils}", pupils=pupils,
        race_shares={"white": 0.45, "black": 0.25, "latino": 0.2, "asian": 0.05, "other": 0.05},
        economically_disadvantaged=0.5, first_language_not_english=0.2, english_learners=0.12,
        neighborhoods=hoods, edges=edges, schools=schools, providers=providers,
        assumptions=["every figure of a synthetic city is an assumption"])
