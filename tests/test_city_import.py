"""Importing a city from a folder of files: the example works, and each broken file gets one clear line."""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import simcity_kids as sk
from simcity_kids.city.profile import MAX_NEIGHBORHOODS, PROVIDER_TYPES
from simcity_kids.city.import_csv import derived_income_index, import_city
from simcity_kids.cli import main
from simcity_kids.core.calendar import SCHOOL_AGES
from test_cities import bootstrap_error, textbook_dissimilarity  # the index counted independently of the package

RIVERTON = Path(__file__).resolve().parent.parent / "examples" / "riverton"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(RIVERTON, tmp_path / "riverton"))


def _rewrite(name: str, change: Callable[[list[list[str]]], list[list[str]]]) -> Callable[[Path], None]:
    """An edit of one CSV file of a city folder: ``change`` gets and returns its lines as lists of cells."""
    def edit(folder: Path) -> None:
        with (folder / name).open(newline="") as handle:
            lines = list(csv.reader(handle))
        with (folder / name).open("w", newline="") as handle:
            csv.writer(handle).writerows(change(lines))
    return edit


def _set_cell(name: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    """Set one cell, ``row`` in spreadsheet numbering (the header is row 1)."""
    def change(lines: list[list[str]]) -> list[list[str]]:
        lines[row - 1][lines[0].index(column)] = value
        return lines
    return _rewrite(name, change)


def _set_column(name: str, column: str, value: str) -> Callable[[Path], None]:
    """Set one column in every data row."""
    def change(lines: list[list[str]]) -> list[list[str]]:
        k = lines[0].index(column)
        return [lines[0]] + [cells[:k] + [value] + cells[k + 1:] for cells in lines[1:]]
    return _rewrite(name, change)


def _drop_column(name: str, column: str) -> Callable[[Path], None]:
    def change(lines: list[list[str]]) -> list[list[str]]:
        k = lines[0].index(column)
        return [cells[:k] + cells[k + 1:] for cells in lines]
    return _rewrite(name, change)


def _add_column(name: str, column: str, value: str) -> Callable[[Path], None]:
    return _rewrite(name, lambda lines: [lines[0] + [column]] + [cells + [value] for cells in lines[1:]])


def _drop_edges_of(hood: str) -> Callable[[Path], None]:
    return _rewrite("edges.csv", lambda lines: [cells for cells in lines if hood not in cells])


def _remove(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).unlink()


def _make_folder(name: str) -> Callable[[Path], None]:
    """Replace a file by a folder of the same name."""
    def edit(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).mkdir()
    return edit


def _replace_bytes(name: str, old: bytes, new: bytes) -> Callable[[Path], None]:
    """Replace the first ``old`` in a file's bytes, as a program writing another encoding would."""
    def edit(folder: Path) -> None:
        path = folder / name
        path.write_bytes(path.read_bytes().replace(old, new, 1))
    return edit


def _append(name: str, text: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        with (folder / name).open("a") as handle:
            handle.write(text)
    return edit


def _edits(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    """Several edits, in order."""
    def edit(folder: Path) -> None:
        for each in edits:
            each(folder)
    return edit


def _write_graphml(folder: Path, extra: Callable[[nx.Graph], None] = lambda graph: None,
                   kind: type[nx.Graph] = nx.Graph) -> None:
    """Replace edges.csv by edges.graphml holding the same edges (and whatever ``extra`` adds) in a graph of
    ``kind`` (a MultiGraph or a DiGraph can hold a pair twice)."""
    graph = kind()
    for edge in _rows(folder / "edges.csv"):
        graph.add_edge(edge["a"], edge["b"], minutes=float(edge["minutes"]))
    extra(graph)
    nx.write_graphml(graph, folder / "edges.graphml")
    (folder / "edges.csv").unlink()


ONE_NEIGHBORHOOD = _edits(
    _rewrite("neighborhoods.csv", lambda lines: lines[:2]),  # Riverton shrunk to Old Mill, with every place there
    _set_cell("neighborhoods.csv", 2, "population_share", "1"),
    _set_column("schools.csv", "neighborhood", "Old Mill"),
    _set_column("providers.csv", "neighborhood", "Old Mill"))
HEADER_ONLY_EDGES = _rewrite("edges.csv", lambda lines: lines[:1])


def test_example_imports_with_its_shares():
    city = import_city(RIVERTON)
    hoods = _rows(RIVERTON / "neighborhoods.csv")
    weights = np.array([float(h["population_share"]) for h in hoods])
    assert city.name == "Riverton" and city.pupils == 9000
    assert [n.name for n in city.neighborhoods] == [h["name"] for h in hoods]
    assert city.economically_disadvantaged == pytest.approx(
        weights @ [float(h["disadvantaged_share"]) for h in hoods], abs=1e-6)
    assert city.first_language_not_english == pytest.approx(
        weights @ [float(h["non_english_share"]) for h in hoods], abs=1e-6)
    assert city.race_shares["latino"] == pytest.approx(weights @ [float(h["latino"]) for h in hoods], abs=1e-6)
    assert city.neighborhoods[0].race["latino"] == float(hoods[0]["latino"])
    incomes = {n.name: n.income_index for n in city.neighborhoods}
    assert incomes["Old Mill"] < incomes["Downtown"] < incomes["Lakeshore"]  # poorer, lower income index
    assert incomes["Old Mill"] == pytest.approx(derived_income_index(0.78, city.economically_disadvantaged))
    assert abs(weights @ list(incomes.values())) < 0.15  # centred on the city
    assert sorted({s.level for s in city.schools}) == ["elementary", "high", "middle"] and len(city.schools) == 9
    assert {p.type for p in city.providers} == set(PROVIDER_TYPES)
    assert np.isfinite(city.travel_minutes).all()


def test_example_runs(seed):
    result = sk.run("baseline", city=str(RIVERTON), years=2, seed=seed)
    assert result.city.name == "Riverton" and len(result.outcomes) > 0
    assert sorted(result.outcomes.year.unique()) == [0, 1]


def test_cli_runs_a_city_folder(tmp_path):
    assert main(["run", "--city", str(RIVERTON), "--years", "1", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["city"] == "Riverton"


def test_edges_from_graphml_match_the_csv(tmp_path):
    folder = _copy(tmp_path)
    _write_graphml(folder)
    city = import_city(folder)
    assert not (folder / "edges.csv").exists()
    np.testing.assert_allclose(city.travel_minutes, import_city(RIVERTON).travel_minutes)


@pytest.mark.parametrize("edges", ["no edges file", "edges.csv with only its header"])
def test_a_city_of_one_neighborhood_needs_no_edges_and_runs(edges, tmp_path, seed):
    folder = _copy(tmp_path)
    ONE_NEIGHBORHOOD(folder)
    (_remove("edges.csv") if edges == "no edges file" else HEADER_ONLY_EDGES)(folder)
    city = import_city(folder)
    assert [n.name for n in city.neighborhoods] == ["Old Mill"] and city.edges == []
    result = sk.run(city=folder, years=1, seed=seed)
    assert result.city.name == "Riverton" and len(result.outcomes) > 0


def test_race_dissimilarity_zero_is_accepted_and_reached(tmp_path, seed):
    """0 is a valid target (every neighborhood with the city's race mix), though Riverton's mixes differ."""
    folder = _copy(tmp_path)
    _append("city.toml", "\n[segregation]\nrace_dissimilarity = 0.0\n")(folder)
    measured = []
    for city in (RIVERTON, folder):
        children = sk.CityModel(city=city, seed=seed, years=1).children
        pupils = children.age >= SCHOOL_AGES[0]
        white, hood = children.race[pupils] == 0, children.neighborhood[pupils]
        error = bootstrap_error(white, hood, children.family[pupils], seed)
        measured.append((textbook_dissimilarity(white, hood), error))
    (given, _), (even, error) = measured
    assert even <= 0.01 + 4 * error < given, measured  # 0 within sampling noise; the given mixes are segregated


def test_schools_and_providers_are_generated_when_their_files_are_absent(tmp_path):
    folder = _copy(tmp_path)
    (folder / "schools.csv").unlink()
    (folder / "providers.csv").unlink()
    _append("city.toml", "\n[school_counts]\nelementary = 5\nmiddle = 2\nhigh = 1\n")(folder)
    city = import_city(folder)
    assert len(city.schools) == 8 and {p.type for p in city.providers} == set(PROVIDER_TYPES)


BROKEN: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "missing column": (_drop_column("neighborhoods.csv", "non_english_share"),
                       ["neighborhoods.csv", "header: ", "missing column 'non_english_share'",
                        "required: name"]),
    "unknown column": (_add_column("neighborhoods.csv", "incme_index", "0.1"),
                       ["neighborhoods.csv", "header: ", "unknown column 'incme_index'",
                        "optional: income_index"]),
    "negative share": (_set_cell("neighborhoods.csv", 4, "disadvantaged_share", "-0.2"),
                       ["neighborhoods.csv", "row 4, column 'disadvantaged_share'", ">= 0 and <= 1", "'-0.2'"]),
    "share above one": (_set_cell("neighborhoods.csv", 5, "population_share", "1.2"),
                        ["neighborhoods.csv", "row 5, column 'population_share'", "> 0 and <= 1", "'1.2'"]),
    "non-numeric value": (_set_cell("schools.csv", 6, "capacity", "lots"),
                          ["schools.csv", "row 6, column 'capacity'", "whole number > 0", "'lots'"]),
    "empty value": (_set_cell("neighborhoods.csv", 7, "y_km", ""),
                    ["neighborhoods.csv", "row 7, column 'y_km'", "is empty", "must be a number"]),
    "race shares not summing to one": (_set_cell("neighborhoods.csv", 3, "white", "0.50"),
                                       ["neighborhoods.csv", "row 3, columns 'white'", "'other'", "sum to 1",
                                        "1.280"]),
    "population shares not summing to one": (_set_cell("neighborhoods.csv", 2, "population_share", "0.23"),
                                             ["neighborhoods.csv", "column 'population_share'", "sums to 1.100"]),
    "duplicate neighborhood": (_set_cell("neighborhoods.csv", 11, "name", "Old Mill"),
                               ["neighborhoods.csv", "row 11, column 'name'", "duplicate", "'Old Mill'", "row 2"]),
    "unknown node in edges": (_set_cell("edges.csv", 5, "b", "Atlantis"),
                              ["edges.csv", "row 5, column 'b'", "'Atlantis'", "'Old Mill'"]),
    "disconnected graph": (_drop_edges_of("Lakeshore"),
                           ["edges.csv", "key 'edges'", "'Lakeshore' has no route", "not all connected"]),
    "edge of zero minutes": (_set_cell("edges.csv", 3, "minutes", "0"),
                             ["edges.csv", "row 3, column 'minutes'", "> 0 and <= 240"]),
    "missing edges file": (_remove("edges.csv"), ["edges.csv", "edges.graphml", "no edges file"]),
    "two edges files": (lambda folder: shutil.copy(RIVERTON / "edges.csv", folder / "edges.graphml"),
                        ["edges.csv", "edges.graphml", "exactly one"]),
    "graphml node not a neighborhood": (
        lambda folder: _write_graphml(folder, lambda graph: graph.add_edge("Old Mill", "Atlantis", minutes=5.0)),
        ["edges.graphml", "node 'Atlantis'", "unknown neighborhood"]),
    "graphml edge without minutes": (
        lambda folder: _write_graphml(folder, lambda graph: graph.add_edge("Old Mill", "Lakeshore")),
        ["edges.graphml", "edge 'Old Mill'-'Lakeshore', attribute 'minutes'", "is missing"]),
    "bad provider type": (_set_cell("providers.csv", 3, "type", "daycare"),
                          ["providers.csv", "row 3, column 'type'", "'daycare'", "preschool", "homework_help"]),
    "bad school level": (_set_cell("schools.csv", 10, "level", "secondary"),
                         ["schools.csv", "row 10, column 'level'", "elementary, middle, high"]),
    "unknown school neighborhood": (_set_cell("schools.csv", 2, "neighborhood", "Oldmill"),
                                    ["schools.csv", "row 2, column 'neighborhood'", "'Oldmill'"]),
    "no high school": (_set_cell("schools.csv", 10, "level", "middle"),
                       ["schools.csv", "column 'level'", "at least one high school"]),
    "no schools at all": (_remove("schools.csv"), ["city.toml", "key 'school_counts'", "schools.csv"]),
    "missing neighborhoods file": (_remove("neighborhoods.csv"), ["neighborhoods.csv", "file not found"]),
    "missing city.toml": (_remove("city.toml"), ["city.toml", "not found"]),
    "table in city.toml": (_append("city.toml", '\n[[edges]]\na = "Old Mill"\nb = "Lakeshore"\nminutes = 5\n'),
                           ["city.toml", "key 'edges'", "edges.csv"]),
    "schema error left to the profile": (_append("city.toml", "first_language_not_english = 0.1\n"),
                                         ["city.toml", "english_learners", "cannot exceed"]),
    "CSV not UTF-8": (_replace_bytes("neighborhoods.csv", b"Eastgate", "Éastgate".encode("latin-1")),
                      ["neighborhoods.csv", "line 5", "not UTF-8 text (byte 0xc9)", "save the file as UTF-8"]),
    "CSV path a folder": (_make_folder("providers.csv"), ["providers.csv", "is a folder", "expected a CSV file"]),
    "edges path a folder": (_make_folder("edges.csv"), ["edges.csv", "is a folder", "expected a CSV file"]),
    "cell of 200,000 characters": (_set_cell("neighborhoods.csv", 4, "name", "D" * 200_000),
                                   ["neighborhoods.csv", "row 4", "field larger than field limit (131072)"]),
    "name too long": (_set_cell("schools.csv", 3, "name", "S" * 201),
                      ["schools.csv", "row 3, column 'name'", "a name of at most 200 characters", "'SSS"]),
    "too many neighborhoods": (_rewrite("neighborhoods.csv", lambda lines: lines + [lines[1]] * MAX_NEIGHBORHOODS),
                               ["neighborhoods.csv", f"row {MAX_NEIGHBORHOODS + 2}",
                                f"at most {MAX_NEIGHBORHOODS:,} data rows"]),
    "x_km far away": (_set_cell("neighborhoods.csv", 4, "x_km", "5000"),
                      ["neighborhoods.csv", "row 4, column 'x_km'", ">= -1,000 and <= 1,000", "'5000'"]),
    "capacity of 1e30": (_set_cell("providers.csv", 3, "capacity", "1e30"),
                         ["providers.csv", "row 3, column 'capacity'", "whole number >= 0 and <= 1,000,000", "'1e30'"]),
    "infinite minutes": (_set_cell("edges.csv", 4, "minutes", "inf"),
                         ["edges.csv", "row 4, column 'minutes'", "> 0 and <= 240", "'inf'"]),
    "share not a number": (_set_cell("neighborhoods.csv", 3, "non_english_share", "nan"),
                           ["neighborhoods.csv", "row 3, column 'non_english_share'", ">= 0 and <= 1", "'nan'"]),
    "edge to itself": (_set_cell("edges.csv", 3, "b", "Old Mill"),
                       ["edges.csv", "row 3, columns 'a', 'b'", "'Old Mill' to itself", "two different neighborhoods"]),
    "edge given twice": (_append("edges.csv", "Old Mill,Downtown,9\n"),
                         ["edges.csv", "row 18, columns 'a', 'b'", "'Old Mill' and 'Downtown' again (also row 3)",
                          "one edge"]),
    "edge given twice, reversed": (_append("edges.csv", "Downtown,Old Mill,7\n"),
                                   ["edges.csv", "row 18, columns 'a', 'b'",
                                    "'Downtown' and 'Old Mill' again (also row 3)", "one edge"]),
    "graphml edge to itself": (
        lambda folder: _write_graphml(folder, lambda graph: graph.add_edge("Old Mill", "Old Mill", minutes=2.0)),
        ["edges.graphml", "edge 'Old Mill'-'Old Mill'", "to itself", "two different neighborhoods"]),
    "graphml edge given twice": (
        lambda folder: _write_graphml(folder, lambda graph: graph.add_edge("Downtown", "Old Mill", minutes=9.0),
                                      nx.MultiGraph),
        ["edges.graphml", "'Old Mill' and 'Downtown' again (also edge 'Old Mill'-'Downtown')", "one edge"]),
    "graphml edge given twice, reversed": (
        lambda folder: _write_graphml(folder, lambda graph: graph.add_edge("Downtown", "Old Mill", minutes=7.0),
                                      nx.DiGraph),
        ["edges.graphml", "edge 'Downtown'-'Old Mill'", "again (also edge 'Old Mill'-'Downtown')"]),
    "edges.csv with only its header": (HEADER_ONLY_EDGES, ["edges.csv", "not all connected", "add edges"]),
    "race segregation out of reach": (_append("city.toml", "\n[segregation]\nrace_dissimilarity = 0.99\n"),
                                      ["city.toml", "key 'segregation.race_dissimilarity'",
                                       "0.99 is more than these neighborhoods allow", "allowed: 0 to 0.9"]),
    "income segregation below reach": (_append("city.toml", "\n[segregation]\nincome_dissimilarity = 0\n"),
                                       ["city.toml", "key 'segregation.income_dissimilarity'",
                                        "0 is less than these neighborhoods allow", "allowed: 0."]),
    "segregation in a city of one neighborhood": (
        _edits(ONE_NEIGHBORHOOD, _remove("edges.csv"),
               _append("city.toml", "\n[segregation]\nrace_dissimilarity = 0.3\n")),
        ["city.toml", "key 'segregation.race_dissimilarity'", "0.3 is more than", "allowed: 0 to 0"]),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_city_folder_exits_2_with_one_clear_line(case, tmp_path, capsys):
    edit, expected = BROKEN[case]
    folder = _copy(tmp_path)
    edit(folder)
    _assert_refused(folder, tmp_path, capsys, expected)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads a file without permission")
def test_unreadable_csv_exits_2_with_one_clear_line(tmp_path, capsys):
    folder = _copy(tmp_path)
    (folder / "schools.csv").chmod(0)
    _assert_refused(folder, tmp_path, capsys, ["schools.csv", "cannot be read (permission denied)"])


def _assert_refused(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], expected: list[str]) -> None:
    """The CLI refuses the city ``folder``: exit status 2, nothing written, one line holding ``expected``."""
    args = ["run", "--city", str(folder), "--years", "1", "--out", str(tmp_path / "out"), "--quiet"]
    assert main(args) == 2 and not (tmp_path / "out").exists()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("simcity-kids: error: "), lines
    missing = [fragment for fragment in expected if fragment not in lines[0]]
    assert not missing, (missing, lines[0])
