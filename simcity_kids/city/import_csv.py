"""Import a city from its own files: a folder with city.toml and CSV tables (see examples/README.md).

A cabinet's analyst has spreadsheets, not TOML arrays of tables, so a city can be a folder::

    city.toml          name, pupils, english_learners and any other profile key but the four tables below
    neighborhoods.csv  one row a neighborhood: share of children, coordinates, shares and race mix
    edges.csv          a, b, minutes (or edges.graphml: nodes are neighborhood names, edges carry 'minutes');
                       a city of one neighborhood needs neither
    schools.csv        optional; without it city.toml needs [school_counts]
    providers.csv      optional; without it providers are generated from defaults

Every problem is a :class:`ConfigError` that names the file, the row (spreadsheet numbering: the header is
row 1) and the column, so that the person who typed the spreadsheet can find the cell. The tables are checked
here, before :class:`CityProfile` sees them, because its own errors could only point at ``city.toml``.
Every limit (bounds of a number, length of a name, rows of a table) is read from the profile schema, so a
folder and a TOML profile allow the same; a file that cannot be read at all is refused by ``read_text``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import networkx as nx
from pydantic import BaseModel

from .profile import (PROVIDER_TYPES, RACES, SCHOOL_LEVELS, SHARE_TOLERANCE, CityProfile, Edge, Neighborhood,
                   ProviderSpec, SchoolSpec, build_profile)
from ..core.validation import ConfigError, read_text, read_toml, shown

TABLE_KEYS = ("neighborhoods", "edges", "schools", "providers")
KNOWN_SHOWN = 6  # how many known neighborhood names an "unknown neighborhood" error lists
Row = tuple[int, dict[str, Any]]  # spreadsheet row number, converted cells (absent optional cells left out)


class CellError(ValueError):
    """A value is not allowed; the message says what is (the caller adds file, row and column)."""


@dataclass(frozen=True)
class Column:
    """How to read one column: what it allows (in words), a parser and whether the column must be there.

    ``parse`` returns None for a value it refuses, so the message about what is allowed is written once.
    """

    allowed: str
    parse: Callable[[str], Any]
    required: bool = True

    def convert(self, value: str) -> Any:
        result = self.parse(value)
        if result is None:
            raise CellError(f"{self.allowed} (got {shown(value)})")
        return result


def optional(column: Column) -> Column:
    """The same column, allowed to be absent from the header or empty in a row (the schema default applies)."""
    return replace(column, required=False)


def choice(options: Iterable[str]) -> Column:
    """A column that holds one of ``options`` exactly, so a misspelt level or type is caught."""
    options = tuple(options)
    return Column(f"must be one of {', '.join(options)}", lambda value: value if value in options else None)


def number(low: float, high: float, *, low_open: bool = False, whole: bool = False) -> Column:
    """A column of finite numbers within bounds, stated in words in the error message. Both bounds are
    required: an unbounded cell (a capacity of 1e30) would overflow later, far from its row."""
    words = (f"must be {'a whole number' if whole else 'a number'} {'>' if low_open else '>='} {_bound(low)} "
             f"and <= {_bound(high)}")

    def parse(value: str) -> float | int | None:
        try:
            result = float(value)
        except ValueError:
            return None
        if (not low <= result <= high or (low_open and result == low)  # NaN fails the comparison too
                or (whole and not result.is_integer())):
            return None
        return int(result) if whole else result
    return Column(words, parse)


def _bound(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def text(max_length: int) -> Column:
    """A column of names up to ``max_length`` characters (a cell pasted whole from elsewhere is refused)."""
    return Column(f"must be a name of at most {max_length} characters",
                  lambda value: value if len(value) <= max_length else None)


def _schema_limits(model: type[BaseModel], field: str) -> dict[str, Any]:
    """The limits the profile schema sets for ``model.field`` (gt, ge, le, max_length): one source of limits."""
    return {name: getattr(item, name) for item in model.model_fields[field].metadata
            for name in ("gt", "ge", "le", "max_length") if getattr(item, name, None) is not None}


def schema_number(model: type[BaseModel], field: str) -> Column:
    """A number column with the bounds the profile schema sets for ``model.field``."""
    limits = _schema_limits(model, field)
    return number(limits.get("gt", limits.get("ge")), limits["le"], low_open="gt" in limits,
                  whole=model.model_fields[field].annotation is int)


def schema_text(model: type[BaseModel], field: str) -> Column:
    """A name column with the length the profile schema allows for ``model.field``."""
    return text(_schema_limits(model, field)["max_length"])


def most_rows(table: str) -> int:
    """How many rows ``table`` (neighborhoods, edges, schools or providers) may have: the profile's limit."""
    return _schema_limits(CityProfile, table)["max_length"]


def read_table(path: Path, columns: dict[str, Column], *, may_be_empty: bool = False) -> list[Row]:
    """Read a CSV file whose header must name every required column and no unknown one; convert each cell.

    Unknown columns are refused rather than ignored, so that a misspelt optional column is not silently
    dropped. Blank lines are skipped but still counted, as a spreadsheet would number them. A table holds
    at most the rows the profile allows for its key (the file is named after it: edges.csv holds edges).
    """
    max_rows = most_rows(path.stem)
    lines = _csv_lines(path)
    header = [cell.strip() for cell in next(lines, (1, []))[1]]
    _check_header(path, header, columns)
    rows = []
    for row, cells in lines:
        if not any(cell.strip() for cell in cells):
            continue
        if any(cell.strip() for cell in cells[len(header):]):
            raise ConfigError(path, f"row {row}", f"has {len(cells)} cells; the header names {len(header)} columns")
        if len(rows) == max_rows:
            raise ConfigError(path, f"row {row}", f"one data row too many; allowed: at most {max_rows:,} data rows")
        rows.append((row, _convert_row(path, row, dict(zip(header, cells)), columns)))
    if not rows and not may_be_empty:
        raise ConfigError(path, "", "has no data rows (the header is row 1; data start on row 2)")
    return rows


def _csv_lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    """The rows of a CSV file as lists of cells, numbered from 1 as a spreadsheet numbers them (a cell may
    hold a line break), read one at a time so that reading stops at the first bad one."""
    reader = csv.reader(io.StringIO(read_text(path, "CSV"), newline=""))
    row = 0
    try:
        for row, cells in enumerate(reader, start=1):
            yield row, cells
    except csv.Error as exc:  # such as a cell longer than the csv module's limit of 131,072 characters
        raise ConfigError(path, f"row {row + 1}", f"not valid CSV ({exc})") from None


def _check_header(path: Path, header: list[str], columns: dict[str, Column]) -> None:
    """Refuse a header that misses a required column, repeats one or names one that is not allowed."""
    required = [name for name, column in columns.items() if column.required]
    others = [name for name, column in columns.items() if not column.required]
    allowed = f"required: {', '.join(required)}" + (f"; optional: {', '.join(others)}" if others else "")
    missing = [name for name in required if name not in header]
    if missing:
        raise ConfigError(path, "header", f"missing column {_quoted(missing)}; {allowed}")
    unknown = [name for name in header if name not in columns]
    if unknown:
        raise ConfigError(path, "header", f"unknown column {_quoted(unknown)}; {allowed}")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ConfigError(path, "header", f"column {_quoted(repeated)} appears more than once")


def _convert_row(path: Path, row: int, cells: dict[str, str], columns: dict[str, Column]) -> dict[str, Any]:
    """Convert one row's cells; an empty optional cell is left out so the schema default applies."""
    values = {}
    for name, column in columns.items():
        value = (cells.get(name) or "").strip()
        where = f"row {row}, column '{name}'"
        if not value:
            if column.required:
                raise ConfigError(path, where, f"is empty; {column.allowed}")
            continue
        try:
            values[name] = column.convert(value)
        except CellError as exc:
            raise ConfigError(path, where, str(exc)) from None
    return values


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


NEIGHBORHOOD_COLUMNS = {
    "name": schema_text(Neighborhood, "name"),
    "population_share": schema_number(Neighborhood, "population_share"),
    "x_km": schema_number(Neighborhood, "x_km"),
    "y_km": schema_number(Neighborhood, "y_km"),
    "disadvantaged_share": schema_number(Neighborhood, "disadvantaged_share"),
    "non_english_share": schema_number(Neighborhood, "non_english_share"),
    **{race: number(0, 1) for race in RACES},
    "income_index": optional(schema_number(Neighborhood, "income_index")),
}
EDGE_COLUMNS = {"a": schema_text(Edge, "a"), "b": schema_text(Edge, "b"),
                "minutes": schema_number(Edge, "minutes")}


def site_columns(model: type[BaseModel], kind: str, options: Iterable[str], *extra: str) -> dict[str, Column]:
    """Columns of a table of places (schools, providers): name, kind, neighborhood, capacity, then the optional
    ``extra`` fields, all with the bounds of the profile schema ``model``."""
    return {"name": schema_text(model, "name"), kind: choice(options),
            "neighborhood": schema_text(model, "neighborhood"), "capacity": schema_number(model, "capacity"),
            **{field: optional(schema_number(model, field)) for field in extra}}


SCHOOL_COLUMNS = site_columns(SchoolSpec, "level", SCHOOL_LEVELS, "quality", "counselors")
PROVIDER_COLUMNS = site_columns(ProviderSpec, "type", PROVIDER_TYPES, "quality")


def import_city(folder: Path) -> CityProfile:
    """The city described by the files in ``folder``, checked file by file, then by the profile schema."""
    folder = Path(folder)
    toml_path = folder / "city.toml"
    data = read_toml(toml_path, "city")
    _check_city_keys(data, toml_path)
    hoods = read_neighborhoods(folder / "neighborhoods.csv")
    names = [hood["name"] for hood in hoods]
    data.update(neighborhoods=hoods, edges=read_edges(folder, names))
    data.update(_optional_sites(folder, data, toml_path, names))
    return build_profile(data, toml_path)


def _check_city_keys(data: dict[str, Any], path: Path) -> None:
    """city.toml must not hold what the tables give: two sources for one thing would leave one unused."""
    for key in (*TABLE_KEYS, "layout"):
        if key in data:
            source = "neighborhoods.csv" if key == "layout" else f"{key}.csv"
            raise ConfigError(path, key, f"not allowed in a city folder's city.toml; it comes from {source}")


def read_neighborhoods(path: Path) -> list[dict[str, Any]]:
    """Neighborhood dicts for the profile, after the checks across rows (unique names, shares summing to 1)."""
    rows = read_table(path, NEIGHBORHOOD_COLUMNS)
    first_row: dict[str, int] = {}
    for row, values in rows:
        name = values["name"]
        if name in first_row:
            raise ConfigError(path, f"row {row}, column 'name'",
                              f"duplicate neighborhood name '{name}' (also on row {first_row[name]})")
        first_row[name] = row
        total = sum(values[race] for race in RACES)
        if abs(total - 1) > SHARE_TOLERANCE:
            raise ConfigError(path, f"row {row}, columns {_quoted(RACES)}", "race/ethnicity shares must sum "
                              f"to 1 (± {SHARE_TOLERANCE}); they sum to {total:.3f}")
    total = sum(values["population_share"] for _, values in rows)
    if abs(total - 1) > SHARE_TOLERANCE:
        raise ConfigError(path, "column 'population_share'",
                          f"must sum to 1 (± {SHARE_TOLERANCE}) over all rows; it sums to {total:.3f}")
    city_share = sum(values["population_share"] * values["disadvantaged_share"] for _, values in rows) / total
    return [_neighborhood(values, city_share) for _, values in rows]


def _neighborhood(values: dict[str, Any], city_disadvantaged_share: float) -> dict[str, Any]:
    """One row as a profile neighborhood: race columns become its mix; a missing income_index is derived."""
    hood = {key: value for key, value in values.items() if key not in RACES}
    hood["race"] = {race: values[race] for race in RACES}
    if "income_index" not in hood:
        hood["income_index"] = derived_income_index(values["disadvantaged_share"], city_disadvantaged_share)
    return hood


def derived_income_index(disadvantaged_share: float, city_disadvantaged_share: float) -> float:
    """Income index from a disadvantaged share: the normal quantile of the share not disadvantaged, against
    the city's, so that poorer neighborhoods get lower incomes and the city centres on zero (an assumption;
    an explicit income_index column overrides it)."""
    from scipy.special import ndtri

    def quantile(share: float) -> float:  # a share of exactly 0 or 1 has an infinite quantile
        return float(ndtri(1 - min(max(share, 1e-6), 1 - 1e-6)))

    return float(min(3.0, max(-3.0, quantile(disadvantaged_share) - quantile(city_disadvantaged_share))))


def read_edges(folder: Path, names: list[str]) -> list[dict[str, Any]]:
    """The travel-time edges from edges.csv or edges.graphml (exactly one of them; a city of one neighborhood
    may have neither, as it has nowhere to travel), checked as a whole: no loops, no pair twice, connected."""
    found = [folder / name for name in ("edges.csv", "edges.graphml") if (folder / name).exists()]
    if not found and len(names) == 1:
        return []
    if len(found) != 1:
        problem = ("no edges file: add edges.csv (columns a, b, minutes) or edges.graphml; only a city of one "
                   "neighborhood needs none" if not found
                   else "both edges.csv and edges.graphml are present; keep exactly one")
        raise ConfigError(found[0] if found else folder / "edges.csv", "", problem)
    path = found[0]
    if path.suffix == ".csv":
        edges = [(f"row {row}", values) for row, values in read_table(path, EDGE_COLUMNS, may_be_empty=True)]
        for place, values in edges:
            for end in ("a", "b"):
                _check_known(path, f"{place}, column '{end}'", values[end], names)
        _check_pairs(path, edges, ", columns 'a', 'b'")
    else:
        edges = _graphml_edges(path, names)
        _check_pairs(path, edges, "")
    _check_connected(path, names, [values for _, values in edges])
    return [values for _, values in edges]


def _graphml_edges(path: Path, names: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """Edges of a GraphML file whose node ids are neighborhood names and whose edges carry 'minutes', each
    with its place in the file (``edge 'A'-'B'``)."""
    text = read_text(path, "GraphML")
    try:
        graph = nx.parse_graphml(text)
    except (ParseError, nx.NetworkXError, ValueError, KeyError) as exc:  # the user's file, in one line
        raise ConfigError(path, "", f"not valid GraphML ({exc})") from None
    if graph.number_of_edges() > most_rows("edges"):
        raise ConfigError(path, "", f"has {graph.number_of_edges():,} edges; allowed: at most {most_rows('edges'):,}")
    for node in graph.nodes:
        _check_known(path, f"node {shown(node)}", str(node), names)
    minutes = EDGE_COLUMNS["minutes"]
    edges = []
    for a, b, attributes in graph.edges(data=True):
        place = f"edge {shown(a)}-{shown(b)}"
        if "minutes" not in attributes:
            raise ConfigError(path, f"{place}, attribute 'minutes'", "is missing; every edge needs its travel "
                              "time in minutes")
        try:
            edges.append((place, {"a": str(a), "b": str(b), "minutes": minutes.convert(str(attributes["minutes"]))}))
        except CellError as exc:
            raise ConfigError(path, f"{place}, attribute 'minutes'", str(exc)) from None
    return edges


def _check_pairs(path: Path, edges: list[tuple[str, dict[str, Any]]], cells: str) -> None:
    """Refuse an edge from a neighborhood to itself, and a pair joined twice (in either order), which would
    give one trip two travel times. ``edges`` holds each edge with its place in the file; ``cells`` names
    the cells of a place that hold the ends (the columns of a table row)."""
    first: dict[frozenset[str], str] = {}
    for place, edge in edges:
        a, b = edge["a"], edge["b"]
        if a == b:
            raise ConfigError(path, place + cells, f"joins '{a}' to itself; an edge must join two different "
                              "neighborhoods")
        pair = frozenset((a, b))
        if pair in first:
            raise ConfigError(path, place + cells, f"joins '{a}' and '{b}' again (also {first[pair]}); give each "
                              "pair of neighborhoods one edge, with its travel minutes")
        first[pair] = place


def _check_known(path: Path, where: str, name: str, names: list[str]) -> None:
    """Refuse a reference to a neighborhood that neighborhoods.csv does not list; show a few it does."""
    if name not in names:
        listed = _quoted(names[:KNOWN_SHOWN]) + (f", ... ({len(names)} in all)" if len(names) > KNOWN_SHOWN else "")
        raise ConfigError(path, where, f"unknown neighborhood {shown(name)}; neighborhoods.csv lists {listed}")


def _check_connected(path: Path, names: list[str], edges: list[dict[str, Any]]) -> None:
    """Every neighborhood must be reachable from every other, or travel times between them are undefined."""
    graph = nx.Graph()
    graph.add_nodes_from(names)
    graph.add_edges_from((edge["a"], edge["b"]) for edge in edges)
    reached = nx.node_connected_component(graph, names[0])
    cut_off = [name for name in names if name not in reached]
    if cut_off:
        verb = "has" if len(cut_off) == 1 else "have"
        raise ConfigError(path, "edges", f"the neighborhoods are not all connected: {_quoted(cut_off)} "
                          f"{verb} no route to '{names[0]}'; add edges that join them")


def _optional_sites(folder: Path, data: dict[str, Any], toml_path: Path, names: list[str]) -> dict[str, Any]:
    """Schools and providers from their CSVs when present; otherwise build_profile generates them."""
    sites: dict[str, Any] = {}
    schools_path = folder / "schools.csv"
    if schools_path.exists():
        if "school_counts" in data:
            raise ConfigError(toml_path, "school_counts", "not used when the folder has schools.csv; remove one")
        sites["schools"] = read_sites(schools_path, SCHOOL_COLUMNS, names)
        _check_levels(schools_path, sites["schools"])
    elif "school_counts" not in data:
        raise ConfigError(toml_path, "school_counts", "required when the folder has no schools.csv: "
                          "add [school_counts] with elementary, middle and high")
    if (folder / "providers.csv").exists():
        sites["providers"] = read_sites(folder / "providers.csv", PROVIDER_COLUMNS, names)
    return sites


def read_sites(path: Path, columns: dict[str, Column], names: list[str]) -> list[dict[str, Any]]:
    """Schools or providers: rows whose 'neighborhood' must be one of ``names``."""
    rows = read_table(path, columns)
    for row, values in rows:
        _check_known(path, f"row {row}, column 'neighborhood'", values["neighborhood"], names)
    return [values for _, values in rows]


def _check_levels(path: Path, schools: list[dict[str, Any]]) -> None:
    """Every child needs a school at each level, so each level must have one."""
    for level in SCHOOL_LEVELS:
        if not any(school["level"] == level for school in schools):
            raise ConfigError(path, "column 'level'", f"the city needs at least one {level} school; there is none")
