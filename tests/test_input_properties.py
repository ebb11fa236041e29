"""Property-based tests of the validation layer (hypothesis): bad scenario and city files exit 2 with one line,
no traceback and nothing written; good ones run and give finite outcomes.

Values are drawn from the schemas themselves (every parameter's type and range), so a new parameter is tested
without a new test: a good value anywhere in its declared range must run, which is what the range promises.
"""

from __future__ import annotations

import json
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from simcity_kids.cli import main
from simcity_kids.scenario import ScenarioConfig
from simcity_kids.core.validation import ConfigError, validate

# A numerical warning inside the model (a division by zero, an invalid value) is a failure here.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
CITY_NAMES = (".neighborhoods", ".schools")  # programme keys that need the city's names: test_programmes.py


@dataclass(frozen=True)
class Leaf:
    """One parameter of a schema: its dotted key, annotation and range."""

    key: str
    annotation: Any
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        for name in ("ge", "gt", "le", "lt", "min_length", "max_length"):
            if getattr(item, name, None) is not None:
                found[name] = getattr(item, name)
    return found


def _leaf(key: str, annotation: Any, metadata: list[Any]) -> Leaf:
    b = _bounds(metadata)
    if isinstance(annotation, types.UnionType):  # an optional number (``float | None``): test the number
        [annotation] = [a for a in typing.get_args(annotation) if a is not type(None)]
    return Leaf(key, annotation, b.get("ge", b.get("gt")), b.get("le", b.get("lt")), "gt" in b, "lt" in b)


def leaves(model: type[BaseModel], prefix: str = "") -> list[Leaf]:
    """Every parameter of ``model``, sections followed down to their values."""
    found = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.extend(leaves(annotation, key + "."))
        elif not (key.startswith("programmes.") and key.endswith(CITY_NAMES)):
            found.append(_leaf(key, annotation, field.metadata))
    return found


def _item_range(annotation: Any) -> tuple[float, float]:
    """The range of a sequence's items or a mapping's values (``between(low, high)``)."""
    metadata = getattr(annotation, "__metadata__", ())
    inner = [m for item in metadata for m in (getattr(item, "metadata", None) or [item])]
    b = _bounds(inner)
    return b["ge"], b["le"]


def _number(low: float, high: float, whole: bool, low_open=False, high_open=False) -> st.SearchStrategy:
    if whole:
        return st.integers(int(low) + low_open, int(high) - high_open)
    return st.floats(low, high, exclude_min=low_open, exclude_max=high_open, allow_nan=False)


def good_value(leaf: Leaf) -> st.SearchStrategy:
    """Any value the schema allows for ``leaf``."""
    annotation, origin = leaf.annotation, typing.get_origin(leaf.annotation)
    if annotation in (int, float):
        return _number(leaf.low, leaf.high, annotation is int, leaf.low_open, leaf.high_open)
    if origin is typing.Literal:
        return st.sampled_from([a for a in typing.get_args(annotation) if a not in ("neighborhoods", "schools")])
    if origin is tuple:
        item = typing.get_args(annotation)[0]
        low, high = _item_range(item)
        return st.lists(_number(low, high, False), min_size=13, max_size=13)
    if origin is dict:
        keys, values = typing.get_args(annotation)
        low, high = _item_range(values)
        return st.dictionaries(st.sampled_from(typing.get_args(keys)), _number(low, high, False), max_size=5)
    if annotation is str:
        return st.text(min_size=1, max_size=40)
    if annotation is bool:
        return st.booleans()
    raise AssertionError(f"no strategy for {leaf.key}: {annotation}")


def bad_value(leaf: Leaf) -> st.SearchStrategy:
    """Values the schema must refuse for ``leaf``: wrong types, non-finite or out-of-range numbers, unknown
    choices, wrong lengths, unknown keys."""
    annotation, origin = leaf.annotation, typing.get_origin(leaf.annotation)
    wrong_type = st.sampled_from([[1, 2], {"x": 1}])
    if annotation in (int, float):
        options = [st.just(str(leaf.high)), st.booleans(), st.sampled_from([math.nan, math.inf, -math.inf]),
                   st.floats(leaf.high + 1e-3 * max(1, abs(leaf.high)), 1e12),
                   st.floats(-1e12, leaf.low - 1e-3 * max(1, abs(leaf.low))), wrong_type]
        if annotation is int:
            options.append(st.floats(leaf.low + 0.1, leaf.high - 0.1).filter(lambda v: not v.is_integer()))
        return st.one_of(options)
    if origin is typing.Literal:
        return st.one_of(st.text(max_size=10).filter(lambda v: v not in typing.get_args(annotation)),
                         st.integers(), wrong_type)
    if origin is tuple:
        return st.one_of(st.lists(st.floats(0, 1), min_size=0, max_size=12), st.just([1.0] * 12 + ["x"]),
                         st.just([1.0] * 12 + [math.nan]), st.just("1, 2, 3"))
    if origin is dict:
        return st.one_of(st.just({"purple": 0.1}), st.just({"white": math.nan}), st.just({"white": "high"}),
                         st.just([0.1]))
    if annotation is str:
        return st.one_of(st.integers(), st.booleans(), wrong_type, st.just("x" * 20_000))
    if annotation is bool:
        return st.one_of(st.integers(), st.just("true"), wrong_type)
    raise AssertionError(f"no strategy for {leaf.key}: {annotation}")


def _string(text: str) -> str:
    """A TOML basic string (JSON's escapes, but TOML refuses a raw DEL and escaped surrogate pairs)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise AssertionError(value)


def toml_text(values: dict[str, Any]) -> str:
    """A TOML document setting each dotted key (a nested table per section)."""
    tables: dict[tuple[str, ...], list[str]] = {}
    for key, value in values.items():
        *section, leaf = key.split(".")
        tables.setdefault(tuple(section), []).append(f"{_string(leaf)} = {toml_value(value)}")
    lines = []
    for section, rows in sorted(tables.items()):
        if section:
            lines.append("[" + ".".join(_string(part) for part in section) + "]")
        lines.extend(rows)
    return "\n".join(lines) + "\n"


def _exits_2_with_one_line(argv: list[str], out: Path, capsys, fragments: list[str]) -> None:
    code = main([*argv, "--out", str(out), "--quiet"])
    printed = capsys.readouterr()
    message = printed.err.rstrip("\n")
    assert code == 2, (argv, printed)
    assert len(message.splitlines()) == 1 and message.startswith("simcity-kids: error: "), message
    assert "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert not out.exists() and not any(p.name.startswith(".") for p in out.parent.iterdir()), "wrote something"


def _runs(argv: list[str], out: Path, capsys) -> None:
    code = main([*argv, "--out", str(out), "--quiet"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    outcomes = pd.read_parquet(out / "outcomes.parquet")
    assert not np.isinf(outcomes.value).any()
    citywide = outcomes[outcomes.group_kind.isin(["all", "programme"])]
    assert citywide.value.notna().all(), citywide[citywide.value.isna()]


SCENARIO_LEAVES = leaves(ScenarioConfig)
PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _is_valid(values: dict[str, Any]) -> bool:
    """Whether the schema accepts these dotted keys and values (cross-key rules refuse a few good values)."""
    nested: dict[str, Any] = {}
    for key, value in values.items():
        *sections, leaf = key.split(".")
        node = nested
        for section in sections:
            node = node.setdefault(section, {})
        node[leaf] = value
    try:
        validate(ScenarioConfig, nested, "drawn")
    except ConfigError:
        return False
    return True


@st.composite
def good_scenarios(draw) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(SCENARIO_LEAVES), min_size=1, max_size=6, unique_by=lambda leaf: leaf.key))
    values = {leaf.key: draw(good_value(leaf)) for leaf in chosen}
    assume(_is_valid(values))
    return values


@st.composite
def bad_scenarios(draw) -> tuple[dict[str, Any], str]:
    """A scenario with one bad value (or one unknown key) among good ones, and the key it must name."""
    values = draw(good_scenarios())
    leaf = draw(st.sampled_from(SCENARIO_LEAVES))
    if draw(st.booleans()) and "." in leaf.key:
        key = leaf.key.rsplit(".", 1)[0] + ".no_such_" + leaf.key.rsplit(".", 1)[1]
        values[key] = 1.0
        return values, key
    values.pop(leaf.key, None)
    values = {k: v for k, v in values.items() if not (k.startswith(leaf.key + ".") or leaf.key.startswith(k + "."))}
    values[leaf.key] = draw(bad_value(leaf))
    return values, leaf.key


@PROPERTY_SETTINGS
@given(scenario=good_scenarios())
def test_any_scenario_the_schema_accepts_runs(scenario, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("good")
    path = folder / "scenario.toml"
    path.write_text(toml_text(scenario))
    _runs(["run", str(path), "--city", "salem", "--scale", "20", "--years", "1"], folder / "out", capsys)


@PROPERTY_SETTINGS
@given(case=bad_scenarios())
def test_any_bad_scenario_value_is_refused_in_one_line(case, tmp_path_factory, capsys):
    scenario, key = case
    folder = tmp_path_factory.mktemp("bad")
    path = folder / "scenario.toml"
    path.write_text(toml_text(scenario))
    fragments = [path.name, f"key '{key}" if ".no_such_" in key else key]
    _exits_2_with_one_line(["run", str(path), "--city", "salem", "--years", "1"], folder / "out", capsys,
                           fragments)


# City files: a whole city drawn from scratch (good), or a good one with one value made bad.
RACES = ("white", "black", "latino", "asian", "other")


@st.composite
def good_cities(draw) -> dict[str, Any]:
    weights = draw(st.lists(st.floats(0.01, 1), min_size=5, max_size=5))
    shares = [round(w / sum(weights), 6) for w in weights]
    shares[0] = round(1 - sum(shares[1:]), 6)
    first_language = draw(st.floats(0, 1))
    pupils = draw(st.integers(13, 5_000_000))
    spacing = draw(st.floats(0.1, 50))
    return {
        "name": draw(st.text(min_size=1, max_size=30)), "pupils": pupils,
        "median_household_income_usd": draw(st.floats(5_001, 500_000)),
        "economically_disadvantaged": draw(st.floats(0, 1)), "first_language_not_english": first_language,
        "english_learners": draw(st.floats(0, first_language)),
        **{f"race_shares.{race}": share for race, share in zip(RACES, shares)},
        "layout.neighborhoods": draw(st.integers(2, 60)), "layout.spacing_km": spacing,
        "layout.minutes_per_km": draw(st.floats(0.1, min(30, 240 / 1.25 / spacing))),
        "layout.income_index_sd": draw(st.floats(0, 3)),
        "layout.seed": draw(st.integers(0, 2**32 - 1)),
        **{f"school_counts.{level}": draw(st.integers(1, 8)) for level in ("elementary", "middle", "high")},
    }


def _scale(city: dict[str, Any]) -> str:
    """Simulate at most about 3,000 children, whatever the city's size."""
    return str(min(1000, max(1, city["pupils"] / 3000)))


@PROPERTY_SETTINGS
@given(city=good_cities())
def test_any_city_the_schema_accepts_runs(city, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("city")
    path = folder / "city.toml"
    path.write_text(toml_text(city))
    _runs(["run", "--city", str(path), "--scale", _scale(city), "--years", "1"], folder / "out", capsys)


def _city_leaves() -> list[Leaf]:
    from simcity_kids.city.profile import CityProfile, Layout, SchoolCounts

    found = [_leaf(k, CityProfile.model_fields[k].annotation, CityProfile.model_fields[k].metadata)
             for k in ("pupils", "median_household_income_usd", "economically_disadvantaged",
                       "first_language_not_english", "english_learners")]
    found += [_leaf(f"layout.{k}", f.annotation, f.metadata) for k, f in Layout.model_fields.items()]
    found += [_leaf(f"school_counts.{k}", f.annotation, f.metadata) for k, f in SchoolCounts.model_fields.items()]
    found += [Leaf(f"race_shares.{race}", float, 0, 1) for race in RACES]
    return found


CITY_LEAVES = _city_leaves()


@PROPERTY_SETTINGS
@given(city=good_cities(), leaf=st.sampled_from(CITY_LEAVES), data=st.data())
def test_any_bad_city_value_is_refused_in_one_line(city, leaf, data, tmp_path_factory, capsys):
    city[leaf.key] = data.draw(bad_value(leaf))
    folder = tmp_path_factory.mktemp("badcity")
    path = folder / "city.toml"
    path.write_text(toml_text(city))
    _exits_2_with_one_line(["run", "--city", str(path), "--years", "1"], folder / "out", capsys,
                           ["city.toml", leaf.key.split(".")[0]])


def _numeric(annotation: Any) -> bool:
    options = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) \
        else (annotation,)
    return any(option in (int, float) for option in options)


def test_every_number_of_every_schema_has_a_range():
    """A range on every parameter is what keeps the model from breaking: no number may be unbounded."""
    from simcity_kids.city import profile as city

    schemas = [city.CityProfile, city.Neighborhood, city.Edge, city.SchoolSpec, city.ProviderSpec, city.Layout,
               city.SchoolCounts, city.Segregation, *{type(v) for v in vars(ScenarioConfig()).values()
                                                       if isinstance(v, BaseModel)}]
    unbounded = [leaf.key for leaf in SCENARIO_LEAVES if leaf.annotation in (int, float)
                 and (leaf.low is None or leaf.high is None)]
    for schema in schemas:
        for name, field in schema.model_fields.items():
            b = _bounds(field.metadata)
            if _numeric(field.annotation) and not ({"ge", "gt"} & b.keys() and {"le", "lt"} & b.keys()):
                unbounded.append(f"{schema.__name__}.{name}")
    assert SCENARIO_LEAVES and unbounded == []


def test_a_parameter_declared_without_a_range_is_refused():
    from simcity_kids.core.params import ASSUMPTION, param

    with pytest.raises(ValueError, match="lower and an upper bound"):
        param(1.0, "SD", ASSUMPTION, ge=0)
    assert param(1.0, "SD", ASSUMPTION, ge=0, le=2).default == 1.0


# City folders: neighborhoods.csv and edges.csv drawn whole (good), or with one cell made bad.
FOLDER_TOML = 'name = "Drawn"\npupils = 3000\nenglish_learners = 0.0\n\n[school_counts]\nelementary = 2\n' \
              'middle = 1\nhigh = 1\n'


@st.composite
def good_folders(draw) -> dict[str, list[dict[str, str]]]:
    """Neighborhood rows and a chain of edges (connected), every cell as text, as a spreadsheet would hold."""
    n = draw(st.integers(1, 8))
    sizes = draw(st.lists(st.floats(0.05, 1), min_size=n, max_size=n))
    shares = [size / sum(sizes) for size in sizes]
    hoods = []
    for i in range(n):
        mix = draw(st.lists(st.floats(0, 1), min_size=5, max_size=5).filter(lambda m: sum(m) > 0.01))
        races = {race: f"{value / sum(mix):.6f}" for race, value in zip(RACES, mix)}
        races["white"] = f"{max(0.0, 1 - sum(float(races[r]) for r in RACES[1:])):.6f}"
        hoods.append({"name": f"Hood {i}", "population_share": f"{shares[i]:.6f}",
                      "x_km": str(draw(st.floats(-1000, 1000))), "y_km": str(draw(st.floats(-1000, 1000))),
                      "disadvantaged_share": str(draw(st.floats(0, 1))),
                      "non_english_share": str(draw(st.floats(0, 1))), **races})
    hoods[-1]["population_share"] = f"{1 - sum(float(h['population_share']) for h in hoods[:-1]):.6f}"
    edges = [{"a": f"Hood {i}", "b": f"Hood {i + 1}", "minutes": str(draw(st.floats(0.5, 240)))}
             for i in range(n - 1)]
    return {"neighborhoods": hoods, "edges": edges}


def _write_folder(folder: Path, tables: dict[str, list[dict[str, str]]]) -> Path:
    import csv

    from simcity_kids.city.import_csv import EDGE_COLUMNS, NEIGHBORHOOD_COLUMNS

    folder.mkdir(exist_ok=True)
    (folder / "city.toml").write_text(FOLDER_TOML)
    for name, columns in (("neighborhoods", NEIGHBORHOOD_COLUMNS), ("edges", EDGE_COLUMNS)):
        with (folder / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, [c for c in columns if c != "income_index"])
            writer.writeheader()
            writer.writerows(tables[name])
    return folder


@PROPERTY_SETTINGS
@given(tables=good_folders())
def test_any_city_folder_the_checks_accept_runs(tables, tmp_path_factory, capsys):
    folder = _write_folder(tmp_path_factory.mktemp("folder") / "city", tables)
    _runs(["run", "--city", str(folder), "--years", "1", "--scale", "2"], folder.parent / "out", capsys)


BAD_CELLS = st.sampled_from(["", "abc", "nan", "inf", "-inf", "-1", "1e30", "2", "0.5.5", "x" * 300, "true"])


@PROPERTY_SETTINGS
@given(tables=good_folders(), data=st.data())
def test_any_bad_city_folder_cell_is_refused_in_one_line(tables, data, tmp_path_factory, capsys):
    from simcity_kids.city.import_csv import EDGE_COLUMNS, NEIGHBORHOOD_COLUMNS

    table = "edges" if tables["edges"] and data.draw(st.booleans()) else "neighborhoods"
    columns = EDGE_COLUMNS if table == "edges" else NEIGHBORHOOD_COLUMNS
    row = data.draw(st.integers(0, len(tables[table]) - 1))
    column = data.draw(st.sampled_from([c for c in tables[table][row]]))
    value = data.draw(BAD_CELLS)
    assume(value == "" or columns[column].parse(value) is None)  # the cell itself is not allowed
    tables[table][row][column] = value
    folder = _write_folder(tmp_path_factory.mktemp("badfolder") / "city", tables)
    _exits_2_with_one_line(["run", "--city", str(folder), "--years", "1"], folder.parent / "out", capsys,
                           [f"{table}.csv", f"row {row + 2}", f"'{column}'"])
