"""City profiles: what a city looks like, read from TOML (or a folder of CSVs) and checked by a typed schema.

A profile gives the pupils, the neighborhoods (nodes of a networkx graph whose edges carry travel minutes),
the shares by race/ethnicity, economic disadvantage and language, the schools and the providers, and how
segregated the city is. What a profile leaves out is filled in before validation (:func:`_fill_in`):
neighborhoods on a grid from a ``[layout]``, schools from ``[school_counts]``, providers from slots per
1,000 pupils, and city-wide shares from the neighborhoods' own shares. The synthetic population
(``population.py``) is generated to match the result.
"""

from __future__ import annotations

import zlib
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import networkx as nx
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from ..core.quota import largest_remainder
from ..core.validation import ConfigError, InvalidAt, check_arguments, check_kind, read_toml, validate

RACES: tuple[str, ...] = ("white", "black", "latino", "asian", "other")
SCHOOL_LEVELS: dict[str, tuple[int, int]] = {"elementary": (0, 5), "middle": (6, 8), "high": (9, 12)}
PROVIDER_TYPES: tuple[str, ...] = (
    "preschool", "summer", "after_school", "health_clinic", "behavioral_health", "optometrist",
    "food_pantry", "housing_assistance", "mentoring", "college_advising", "homework_help",
)
SHARE_TOLERANCE = 0.005
# Slots per 1,000 pupils and pupils per provider site, used when a profile lists no providers (assumption).
DEFAULT_PROVIDERS: dict[str, tuple[float, int]] = {
    "preschool": (70, 2500), "summer": (120, 1500), "after_school": (80, 1500), "health_clinic": (100, 4000),
    "behavioral_health": (20, 4000), "optometrist": (15, 6000), "food_pantry": (80, 4000),
    "housing_assistance": (10, 8000), "mentoring": (15, 4000), "college_advising": (25, 5000),
    "homework_help": (15, 3000),
}
EDGE_JITTER = (0.8, 1.25)  # generated travel minutes vary by this factor around spacing x speed (assumption)
PUPILS_PER_SCHOOL = {"elementary": 450, "middle": 700, "high": 1200}  # assumption, for generated schools


Race = Literal[RACES]  # type: ignore[valid-type]
Share = Annotated[float, Field(ge=0, le=1)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
MAX_NEIGHBORHOODS, MAX_SITES = 1_000, 50_000  # far above any real city, small enough to allocate at once


class _Strict(BaseModel):
    """Strict like the scenario schemas (``params.Params``): no silent conversion, finite numbers only."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Neighborhood(_Strict):
    name: Name
    population_share: float = Field(gt=0, le=1, description="share of the city's children living here")
    x_km: float = Field(0.0, ge=-1000, le=1000, description="map position, km east of any origin")
    y_km: float = Field(0.0, ge=-1000, le=1000, description="map position, km north of any origin")
    income_index: float = Field(0.0, ge=-3, le=3, description="log-income shift against the city, in SD")
    race: dict[Race, Share] | None = Field(None, description="race/ethnicity mix of families; the city's shares "
                                           "when absent")
    disadvantaged_share: float | None = Field(None, ge=0, le=1, description="share of pupils economically "
                                              "disadvantaged; when every neighborhood gives it, it is matched")
    non_english_share: float | None = Field(None, ge=0, le=1, description="share of pupils whose first "
                                            "language is not English; matched when every neighborhood gives it")

    @model_validator(mode="after")
    def _mix_sums_to_one(self) -> Neighborhood:
        if self.race is not None and abs(sum(self.race.values()) - 1) > SHARE_TOLERANCE:
            raise InvalidAt("race", f"shares must sum to 1 (± {SHARE_TOLERANCE}; they sum to "
                            f"{sum(self.race.values()):.3f})")
        return self


class Edge(_Strict):
    a: Name
    b: Name
    minutes: float = Field(gt=0, le=240)

    @model_validator(mode="after")
    def _joins_two(self) -> Edge:
        if self.a == self.b:
            raise InvalidAt("b", f"an edge must join two different neighborhoods (got '{self.a}' twice)")
        return self


class SchoolSpec(_Strict):
    name: Name
    level: Literal["elementary", "middle", "high"]
    neighborhood: Name
    capacity: int = Field(gt=0, le=100_000, description="seats: pupils beyond them try the next nearest school")
    quality: float | None = Field(None, ge=-0.5, le=0.5, description="value added, SD per year")
    counselors: int = Field(1, ge=0, le=1_000,
                            description="counselors who can carry success plans (no rule reads it yet)")


class ProviderSpec(_Strict):
    name: Name
    type: Literal[PROVIDER_TYPES]  # type: ignore[valid-type]
    neighborhood: Name
    capacity: int = Field(ge=0, le=1_000_000, description="slots the provider offers without new city funding")
    quality: float = Field(1.0, ge=0, le=2, description="multiplier on the programme's effect")


class Layout(_Strict):
    """Neighborhoods generated on a grid, for a profile that does not list its own."""

    neighborhoods: int = Field(ge=2, le=400)
    spacing_km: float = Field(2.0, gt=0, le=50)
    minutes_per_km: float = Field(3.0, gt=0, le=30, description="assumption: about 20 km/h across town")
    income_index_sd: float = Field(0.6, ge=0, le=3, description="spread of neighborhood income indexes")
    seed: int = Field(0, ge=0, le=2**32 - 1)

    @model_validator(mode="after")
    def _neighbours_within_reach(self) -> Layout:
        """Generated edges vary up to EDGE_JITTER above spacing x minutes and must stay valid edges."""
        longest = Edge.model_fields["minutes"].metadata[-1].le / EDGE_JITTER[1]
        if self.spacing_km * self.minutes_per_km > longest:
            raise InvalidAt("minutes_per_km", f"spacing_km x minutes_per_km must be at most {longest:g} minutes "
                            f"between neighbours (got {self.spacing_km:g} x {self.minutes_per_km:g})")
        return self


class SchoolCounts(_Strict):
    elementary: int = Field(ge=1, le=MAX_SITES // 3)
    middle: int = Field(ge=1, le=MAX_SITES // 3)
    high: int = Field(ge=1, le=MAX_SITES // 3)


class Segregation(_Strict):
    """Target dissimilarity indexes across neighborhoods, over pupils (0 = even, 1 = apart)."""

    income_dissimilarity: float | None = Field(
        None, ge=0, lt=1, description="economically disadvantaged pupils against all others")
    race_dissimilarity: float | None = Field(None, ge=0, lt=1, description="white pupils against all others")


class ProfileInputs(_Strict):
    """What filling in a profile reads (:func:`build_profile`), checked before it generates anything, so
    that a huge count is refused before it is allocated. Other keys are checked by :class:`CityProfile`."""

    model_config = ConfigDict(extra="ignore")
    name: Name
    pupils: int = Field(ge=13, le=5_000_000, description="pupils in grades K-12 (at least one a grade)")
    layout: Layout | None = Field(None, description="input only: replaced by the neighborhoods it generates")
    school_counts: SchoolCounts | None = Field(None, description="input only: replaced by the schools it generates")
    neighborhoods: list[Neighborhood] | None = Field(None, min_length=1, max_length=MAX_NEIGHBORHOODS)


class CityProfile(ProfileInputs):
    """A city, as its profile describes it (after filling in what the profile leaves out)."""

    model_config = ConfigDict(extra="forbid")
    state: str = Field("", max_length=200)
    sources: list[str] = Field(default_factory=list, max_length=1000)
    assumptions: list[str] = Field(default_factory=list, max_length=1000)
    median_household_income_usd: float = Field(75_000, gt=5_000, le=500_000)
    race_shares: dict[Race, Share]
    economically_disadvantaged: float = Field(ge=0, le=1)
    first_language_not_english: float = Field(ge=0, le=1)
    english_learners: float = Field(ge=0, le=1)
    segregation: Segregation = Segregation()
    neighborhoods: list[Neighborhood] = Field(min_length=1, max_length=MAX_NEIGHBORHOODS)
    edges: list[Edge] = Field(default_factory=list, max_length=MAX_SITES)
    schools: list[SchoolSpec] = Field(min_length=1, max_length=MAX_SITES)
    providers: list[ProviderSpec] = Field(default_factory=list, max_length=MAX_SITES)
    _source: str = PrivateAttr("")

    @property
    def source(self) -> str:
        """The file or folder the profile was read from, for messages about it found later (segregation)."""
        return self._source or self.name

    @model_validator(mode="after")
    def _consistent(self) -> CityProfile:
        names = [n.name for n in self.neighborhoods]
        first: dict[str, int] = {}
        for i, name in enumerate(names):
            if name in first:
                raise InvalidAt(f"neighborhoods.{i}.name", f"'{name}' is also neighborhoods.{first[name]}; "
                                "neighborhood names must be unique")
            first.setdefault(name, i)
        for key, shares in [("race_shares", self.race_shares.values()),
                            ("neighborhoods", [n.population_share for n in self.neighborhoods])]:
            total = sum(shares)
            if abs(total - 1) > SHARE_TOLERANCE:
                what = "population_share over all neighborhoods" if key == "neighborhoods" else "shares"
                raise InvalidAt(key, f"{what} must sum to 1 (± {SHARE_TOLERANCE}; they sum to {total:.3f})")
        if self.english_learners > self.first_language_not_english + 1e-9:
            raise InvalidAt("english_learners", f"cannot exceed first_language_not_english "
                            f"{self.first_language_not_english:g} (got {self.english_learners:g})")
        for key, node in [*((f"edges.{i}.{end}", getattr(e, end)) for i, e in enumerate(self.edges) for end in "ab"),
                          *((f"schools.{i}.neighborhood", s.neighborhood) for i, s in enumerate(self.schools)),
                          *((f"providers.{i}.neighborhood", p.neighborhood) for i, p in enumerate(self.providers))]:
            if node not in first:
                shown = ", ".join(f"'{n}'" for n in names[:6]) + (f", ... ({len(names)} in all)" if len(names) > 6
                                                                   else "")
                raise InvalidAt(key, f"unknown neighborhood '{node}'; neighborhoods are {shown}")
        pairs: dict[frozenset[str], int] = {}
        for i, edge in enumerate(self.edges):
            pair = frozenset((edge.a, edge.b))
            if pair in pairs:
                raise InvalidAt(f"edges.{i}", f"joins '{edge.a}' and '{edge.b}' again (also edges.{pairs[pair]}); "
                                "give each pair once, with its travel minutes")
            pairs[pair] = i
        if not nx.is_connected(self.graph):
            cut_off = sorted(set(names) - nx.node_connected_component(self.graph, names[0]))
            raise InvalidAt("edges", f"the neighborhood graph is not connected: {cut_off} have no route to "
                            f"'{names[0]}'; add edges that join them")
        for level in SCHOOL_LEVELS:
            if not any(s.level == level for s in self.schools):
                raise InvalidAt("schools", f"the city needs at least one {level} school (got none)")
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

    def scaled(self, scale: float) -> CityProfile:
        """The same city with 1/scale of its pupils, school seats and provider slots: each simulated child
        stands for ``scale`` children. Means and rates are unchanged; counts and costs are multiplied back."""
        if scale == 1:
            return self
        providers = [p.model_copy(update={"capacity": int(round(p.capacity / scale))}) for p in self.providers]
        schools = [s.model_copy(update={"capacity": max(1, int(round(s.capacity / scale)))}) for s in self.schools]
        return self.model_copy(update={"pupils": max(13, int(round(self.pupils / scale))),
                                       "providers": providers, "schools": schools})


def build_profile(data: Any, source: str | Path) -> CityProfile:
    """A checked profile from raw data: the generators' inputs are checked first, then what they leave out is
    filled in (neighborhoods from a layout, schools from counts, providers from defaults, city shares from the
    neighborhoods'), then the whole profile is checked. Every problem is a ConfigError naming ``source``."""
    inputs = validate(ProfileInputs, data, source)
    data = dict(data)
    for given, generator in (("neighborhoods", "layout"), ("schools", "school_counts")):
        if data.get(given) is not None and data.get(generator) is not None:
            raise ConfigError(source, generator, f"give either {given} or {generator}, not both")
    rng = np.random.default_rng([zlib.crc32(inputs.name.encode()), inputs.layout.seed if inputs.layout else 0])
    hoods = inputs.neighborhoods
    if inputs.layout is not None:
        data.pop("layout")
        data["neighborhoods"], data["edges"] = _grid_neighborhoods(inputs.layout, rng)
        hoods = [Neighborhood.model_validate(hood) for hood in data["neighborhoods"]]
    if hoods is not None:
        if inputs.school_counts is not None:
            data.pop("school_counts")
            data["schools"] = _generated_schools(inputs.school_counts, hoods, rng)
        if "providers" not in data:
            data["providers"] = _generated_providers(inputs.pupils, hoods, rng)
        data.update(_city_shares(data, hoods))
    profile = validate(CityProfile, data, source)
    profile._source = str(source)
    return profile


def _city_shares(data: dict[str, Any], hoods: list[Neighborhood]) -> dict[str, Any]:
    """City-wide shares a profile leaves out, from the neighborhoods' own, weighted by their children."""
    shares: dict[str, Any] = {}
    if "race_shares" not in data and all(h.race is not None for h in hoods):
        shares["race_shares"] = {r: float(sum(h.population_share * h.race.get(r, 0.0) for h in hoods))  # type: ignore
                                 for r in RACES}
    for city_key, hood_key in (("economically_disadvantaged", "disadvantaged_share"),
                               ("first_language_not_english", "non_english_share")):
        if city_key not in data and all(getattr(h, hood_key) is not None for h in hoods):
            shares[city_key] = float(sum(h.population_share * getattr(h, hood_key) for h in hoods))
    return shares


def _grid_neighborhoods(layout: Layout, rng: np.random.Generator) -> tuple[list[dict], list[dict]]:
    """Neighborhoods on a square grid, with uneven sizes and incomes, joined to their grid neighbours."""
    n, side = layout.neighborhoods, int(np.ceil(np.sqrt(layout.neighborhoods)))
    sizes = rng.uniform(0.5, 1.5, n)
    shares = largest_remainder(sizes, 100_000) / 100_000
    income = rng.normal(0.0, layout.income_index_sd, n)
    hoods = [{"name": f"N{i + 1:02d}", "population_share": float(shares[i]),
              "x_km": float(i % side * layout.spacing_km), "y_km": float(i // side * layout.spacing_km),
              "income_index": float(np.clip(income[i], -3, 3))} for i in range(n)]
    edges = []
    for i in range(n):
        for j in (i + 1, i + side):
            if j < n and (j == i + side or j % side):
                minutes = layout.spacing_km * layout.minutes_per_km * rng.uniform(*EDGE_JITTER)
                edges.append({"a": hoods[i]["name"], "b": hoods[j]["name"], "minutes": max(0.1, round(minutes, 1))})
    return hoods, edges


def _spread(count: int, hoods: list[Neighborhood], rng: np.random.Generator) -> list[str]:
    """Neighborhood names for ``count`` sites, spread in proportion to population."""
    per_hood = largest_remainder(np.array([h.population_share for h in hoods]), count)
    return [str(name) for name in rng.permutation(np.repeat([h.name for h in hoods], per_hood))]


def _generated_schools(counts: SchoolCounts, hoods: list[Neighborhood], rng: np.random.Generator) -> list[dict]:
    schools = []
    for level, count in counts.model_dump().items():
        for k, hood in enumerate(_spread(count, hoods, rng)):
            schools.append({"name": f"{level.capitalize()} school {k + 1}", "level": level, "neighborhood": hood,
                            "capacity": PUPILS_PER_SCHOOL[level] * 2})
    return schools


def _generated_providers(pupils: int, hoods: list[Neighborhood], rng: np.random.Generator) -> list[dict]:
    providers = []
    for kind, (slots_per_1000, pupils_per_site) in DEFAULT_PROVIDERS.items():
        sites = max(1, round(pupils / pupils_per_site))
        slots = largest_remainder(np.ones(sites), int(round(pupils * slots_per_1000 / 1000)))
        for k, (hood, capacity) in enumerate(zip(_spread(sites, hoods, rng), slots)):
            providers.append({"name": f"{kind.replace('_', ' ')} {k + 1}", "type": kind, "neighborhood": hood,
                              "capacity": int(capacity)})
    return providers


def builtin_cities() -> list[str]:
    """Names of the city profiles shipped with the package."""
    folder = resources.files("simcity_kids.city") / "cities"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_city(city: str | Path | CityProfile = "salem") -> CityProfile:
    """A built-in city by name, a profile TOML path, or a folder of CSV files (see ``city_import.py``)."""
    if isinstance(city, CityProfile):
        return city
    allowed = (f"a built-in city ({', '.join(builtin_cities())}), the path of a city TOML file or of a folder "
               "of city CSV files")
    check_kind("city", city, (str, Path), allowed)
    text = str(city)
    path = Path(text)
    if path.is_dir():
        from .import_csv import import_city

        return import_city(path)
    if not (text.endswith(".toml") or path.exists()):
        if text.lower() not in builtin_cities():
            raise ConfigError("city", "", f"unknown city {text!r}; allowed: {allowed}", argument=True)
        path = Path(str(resources.files("simcity_kids.city") / "cities" / f"{text.lower()}.toml"))
    return build_profile(read_toml(path, "city"), path)


def synthetic_city(pupils: int, n_neighborhoods: int = 16, seed: int = 0) -> CityProfile:
    """A made-up city of any size on a grid of neighborhoods, for benchmarks and scaling tests.

    Shares follow a mid-sized US district (assumption); neighborhoods differ in income so that
    access and school composition vary.
    """
    check_arguments(pupils=pupils, n_neighborhoods=n_neighborhoods, seed=seed)
    counts = {level: max(1, round(pupils * (hi - lo + 1) / 13 / PUPILS_PER_SCHOOL[level]))
              for level, (lo, hi) in SCHOOL_LEVELS.items()}
    return build_profile(dict(
        name=f"synthetic-{pupils}", pupils=pupils,
        race_shares={"white": 0.45, "black": 0.25, "latino": 0.2, "asian": 0.05, "other": 0.05},
        economically_disadvantaged=0.5, first_language_not_english=0.2, english_learners=0.12,
        layout={"neighborhoods": n_neighborhoods, "seed": seed % 2**32}, school_counts=counts,
        assumptions=["every figure of a synthetic city is an assumption"]), "synthetic_city()")
