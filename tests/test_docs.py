"""The READMEs as a reader uses them: every code block and every command they show is run and what it prints
is checked, and the outputs they show (the city table, the error lines) are made for real and compared.

The tables below list what the READMEs show; a guard test fails when a README shows a command, a code block or
an output line that no table lists, or when a table lists something the READMEs no longer show.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import simcity_kids as sk
from simcity_kids.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "examples" / "README.md"]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.M | re.S)
COMMAND = re.compile(r"(simcity-kids|make|python3?|pip|\.venv/bin/\w+) \S")  # not `make` alone, not an error line


def _blocks(doc: Path) -> list[tuple[str, str]]:
    """The fenced code blocks of a Markdown file, as (language, text)."""
    return FENCE.findall(doc.read_text())


def _commands(doc: Path) -> list[str]:
    """The commands a README shows: lines of its shell blocks (and the `# or: COMMAND` of a comment), and `code`
    in its text that starts like a command."""
    text = doc.read_text()
    shown = [part.strip().removeprefix("or: ") for language, block in FENCE.findall(text) if language in ("bash", "")
             for line in block.splitlines() for part in line.split(" # ")]
    shown += re.findall(r"`([^`\n]+)`", FENCE.sub("", text))
    return [command for command in shown if COMMAND.match(command)]


# --- Python blocks: run in order, one namespace per README, as a notebook would; a distinctive line of each block
# names the check of what it printed and of the value of its last line (when that is an expression).

def _check_runs(printed: str, value: Any, namespace: dict) -> None:
    baseline, summer = namespace["baseline"], namespace["summer"]
    gaps, summary = baseline.gaps().round(2), summer.summary().round(3)
    assert printed == f"{gaps}\n{summary}\n"  # the two tables, nothing else
    assert "reading: income Q5-Q1" in printed
    # The comments' promises: reading and math, five gaps each; the summary's measures.
    assert [c.split(": ")[0] for c in gaps.columns] == ["reading"] * 5 + ["math"] * 5
    assert list(gaps.index) == list(range(10))
    for measure in ("income", "readiness", "proficiency", "absence", "graduation", "cost"):
        assert any(measure in column for column in summary.columns), measure
    # The query: summer enrolment by income quintile, Q1 to Q5 in every year.
    assert isinstance(value, pd.DataFrame) and set(value.metric) == {"summer_enrolled"}
    assert all(sorted(groups) == ["Q1", "Q2", "Q3", "Q4", "Q5"] for _, groups in value.groupby("year").group)
    assert sorted(value.year.unique()) == list(range(10)) and (value.value > 0).all()


def _check_compare(printed: str, value: Any, namespace: dict) -> None:
    comparison = namespace["comparison"]
    assert printed == f"{comparison.summary()}\n" and "minus baseline [95% CI]" in printed
    assert len(comparison.plan.seeds) == 5 and (comparison.runs().status == "done").all()
    assert set(value.index.get_level_values("measure")) == {"cost_usd", "cost_per_child_served_usd",
                                                            "extra_cost_usd", "gap_closed_per_1m_usd"}
    closed = value.xs("gap_closed_per_1m_usd", level="measure")["mean"]
    assert (closed > 0).all()  # both programmes close the income gap in year 9


def _check_run_one(printed: str, value: Any, namespace: dict) -> None:
    # lowest income first: the first slots go to the poorest children, later ones to richer children too
    assert printed == "" and len(value) == 3 and value == sorted(value)
    assert value[1] == round(sk.run_one("universal_summer", years=5, seed=1)["reading_mean_gap/Q5-Q1"], 3)


def _check_overrides(printed: str, value: Any, namespace: dict) -> None:
    stronger = namespace["stronger"]
    assert stronger.programmes.summer.coverage == 0.9 and stronger.learning.summer_loss == "strong"
    assert printed == "" and list(value.index) == list(range(5))
    assert [c.split(": ")[0] for c in value.columns] == ["reading"] * 5 + ["math"] * 5


def _check_riverton(printed: str, value: Any, namespace: dict) -> None:
    result = namespace["result"]
    assert printed == "" and result.years == 5 and result.city.name == "Riverton"
    assert result.city.pupils == 9000 and len(result.city.neighborhoods) == 10  # "about 9,000 pupils, 10 neighborhoods"


PYTHON_BLOCKS: dict[str, Callable[[str, Any, dict], None]] = {
    'summer = sk.run("universal_summer", city="salem", years=10, seed=1)': _check_runs,
    "comparison = sk.compare(": _check_compare,
    "def income_gap(coverage: float)": _check_run_one,
    "stronger = config.with_overrides(": _check_overrides,
    'result = sk.run("baseline", city="examples/riverton", years=5, seed=1)': _check_riverton,
}


def _run_cell(code: str, namespace: dict, filename: str) -> Any:
    """Run a block like a notebook cell: its statements, and the value of its last line if that is an expression."""
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, filename, "exec"), namespace)  # noqa: S102 - our own documentation
    return eval(compile(ast.Expression(last.value), filename, "eval"), namespace) if last else None  # noqa: S307


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: str(doc.relative_to(ROOT)))
def test_python_blocks_run_and_print_what_they_say(doc, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    for language, block in _blocks(doc):
        if language == "python":
            [key] = [key for key in PYTHON_BLOCKS if key in block]
            value = _run_cell(block, namespace, str(doc))
            PYTHON_BLOCKS[key](capsys.readouterr().out, value, namespace)


def test_toml_blocks_are_the_shipped_scenarios(tmp_path):
    blocks = [block for doc in DOCS for language, block in _blocks(doc) if language == "toml"]
    assert blocks
    for number, block in enumerate(blocks):
        path = tmp_path / f"{number}.toml"
        path.write_text(block)
        shown, _ = sk.load_scenario(path)
        assert shown.config_hash() == sk.load_scenario(shown.name)[0].config_hash(), shown.name


# --- Commands: each as the README shows it -> the command really run (placeholders filled in, --out to a
# temporary folder) and text it must print. A synopsis (with [OPTIONS]) is checked against the --help it runs.

COMMANDS: dict[str, tuple[str, list[str]]] = {
    # Writes simcity-output/ in the project (git-ignored), as the README says; only where .venv is set up.
    "make run": ("make run", ["Reading gaps (SD, all grades), Salem, scenario 'baseline', seed 0:", "Math gaps",
                              "Wrote simcity-output/baseline-salem-seed0/outcomes.parquet, outcomes.csv, trace.csv, "
                              "manifest.json"]),
    # The suite cannot run itself: what make would run (and .ci/run calls `make test`, tested below).
    "make test": ("make --dry-run test", [".venv/bin/python -m pytest"]),
    "simcity-kids run [SCENARIO] [--city NAME|PATH|FOLDER] [--years N] [--seed S] [--scale K] [--out DIR] [--quiet]":
        ("simcity-kids run --help", ["usage: simcity-kids run"]),
    "simcity-kids compare SCENARIO [SCENARIO ...] [--city NAME|PATH|FOLDER] [--seeds N] [--seed S] [--years N] "
    "[--scale K] [--parameter-draws N] [--spread S] [--workers N] [--dask ADDRESS] [--out DIR] [--resume] "
    "[--quiet]": (
        "simcity-kids compare --help", ["usage: simcity-kids compare"]),
    "simcity-kids experiment FILE [--seeds N] [--years N] [--samples N] [--workers N] [--dask ADDRESS] [--out DIR] "
    "[--resume] [--quiet]": ("simcity-kids experiment --help", ["usage: simcity-kids experiment"]),
    "simcity-kids report FOLDER [--out FILE]": ("simcity-kids report --help", ["usage: simcity-kids report"]),
    "simcity-kids validate [--city NAME|PATH|FOLDER] [--seeds N] [--years N] [--include FILE] [--out DIR] "
    "[--quiet]": ("simcity-kids validate --help", ["usage: simcity-kids validate"]),
    "simcity-kids calibrate TARGETS [--city NAME|PATH|FOLDER] [--seeds N] [--max-evaluations N] [--workers N] "
    "[--out DIR] [--resume] [--quiet]": ("simcity-kids calibrate --help", ["usage: simcity-kids calibrate"]),
    # Draws of the assumption parameters: two draws of two seeds for one year (the README's has 8 of 3 for 10).
    "simcity-kids compare baseline universal_summer --seeds 3 --parameter-draws 8 --spread 0.3": (
        "simcity-kids compare baseline universal_summer --seeds 2 --years 1 --parameter-draws 2 --spread 0.3 "
        "--out {out} --quiet", ["95% range over seeds and parameters", "8 of 8 runs done, 0 failed"]),
    # The shipped fit with two candidates on one seed (the README's command rewrites experiments/calibration/).
    "simcity-kids calibrate experiments/calibration/evidence.toml --out experiments/calibration/evidence": (
        "simcity-kids calibrate experiments/calibration/evidence.toml --seeds 1 --max-evaluations 2 --out {out} "
        "--quiet", ["entry_gap_income_reading", "2 candidates", "Wrote {out}/fitted.toml"]),
    # A city's own fit, then its validation report with the fit included.
    "simcity-kids calibrate examples/riverton_targets.toml": (
        "simcity-kids calibrate examples/riverton_targets.toml --max-evaluations 3 --out {out} --quiet",
        ["chronic_absence_rate", "Wrote {out}/fitted.toml"]),
    "simcity-kids validate --city examples/riverton --include simcity-output/calibration/riverton/fitted.toml": (
        "simcity-kids calibrate examples/riverton_targets.toml --max-evaluations 2 --out {out} --quiet && "
        "simcity-kids validate --city examples/riverton --include {out}/fitted.toml --seeds 1 --years 2 "
        "--out {out}/validation --quiet", ["figures in range. Wrote {out}/validation/validation.csv"]),
    # Two seeds and two years into a scratch folder: the README's command rewrites docs/ (tests/test_validation.py).
    "simcity-kids validate --out docs": ("simcity-kids validate --seeds 2 --years 2 --out {out} --quiet",
                                        ["college advising", "figures in range. Wrote {out}/validation.csv"]),
    # Serving is tested in a browser (test_dashboard_browser.py); here, the command and what make would run.
    "simcity-kids dashboard [--host 127.0.0.1] [--port 8765]": (
        "simcity-kids dashboard --help", ["usage: simcity-kids dashboard", "--port PORT"]),
    "make dashboard": ("make --dry-run dashboard", [".venv/bin/simcity-kids dashboard"]),
    ".venv/bin/python -m simcity_kids.dashboard.assets --check": (
        ".venv/bin/python -m simcity_kids.dashboard.assets --check", []),
    # Five seeds of three scenarios (15 Salem runs); the experiment with two seeds (its file says ten).
    "simcity-kids compare baseline universal_summer same_budget_preschool --seeds 5": (
        "simcity-kids compare baseline universal_summer same_budget_preschool --seeds 5 --out {out} --quiet",
        ["minus baseline [95% CI]",
         "15 of 15 runs done, 0 failed; results in {out}"]),
    "simcity-kids experiment experiments/summer_vs_preschool.toml": (
        "simcity-kids experiment experiments/summer_vs_preschool.toml --seeds 2 --out {out} --quiet",
        ["summer_vs_preschool: Salem, 10 years, 2 seeds, reference 'baseline'", "6 of 6 runs done, 0 failed"]),
    "simcity-kids report simcity-output/experiment-summer_vs_preschool": (
        "simcity-kids experiment experiments/summer_vs_preschool.toml --seeds 2 --years 1 --out {out} --quiet && "
        "simcity-kids report {out}", ["Wrote {out}/report.html"]),
    "simcity-kids experiment FOLDER/manifest.json --out NEW": (
        "simcity-kids experiment experiments/summer_vs_preschool.toml --seeds 2 --years 1 --out {out} --quiet && "
        "simcity-kids experiment {out}/manifest.json --out {out}-again --quiet", ["6 of 6 runs done"]),
    "simcity-kids cities": ("simcity-kids cities", ["salem          Salem, MA"]),  # and its table in the README
    "simcity-kids run --city path/to/folder": ("simcity-kids run --city examples/riverton --out {out}",
                                               ["Reading gaps (SD, all grades), Riverton", "Wrote {out}/"]),
    "simcity-kids scenarios": ("simcity-kids scenarios", ["by_all_means ", "What does the full By All Means package"]),
    "simcity-kids parameters": ("simcity-kids parameters", ["# Parameter reference", "## `[programmes.preschool]`",
                                                            "| `coverage` | 0 |"]),
    # The suite takes minutes and appends to benchmarks/results.csv: what make would run, and the options.
    "make benchmark": ("make --dry-run benchmark", [".venv/bin/python benchmarks/run_benchmarks.py"]),
    ".venv/bin/python benchmarks/run_benchmarks.py [--quick]": (".venv/bin/python benchmarks/run_benchmarks.py --help",
                                                                 ["skip the million-child city"]),
    "simcity-kids --help": ("simcity-kids --help", ["usage: simcity-kids", "run", "cities", "scenarios",
                                                    "parameters"]),
    # examples/README.md
    "simcity-kids run --city examples/riverton --years 5": (
        "simcity-kids run --city examples/riverton --years 5 --out {out}",
        ["Reading gaps (SD, all grades), Riverton, scenario 'baseline', seed 0:", "Wrote {out}/outcomes.parquet"]),
}

# Outputs shown as a block of their own: the command that prints them -> how the block starts.
PRINTED = {"simcity-kids cities": "city "}


def _venv_not_set_up(command: str) -> bool:
    """Whether a command needs the project's .venv and it is not set up: only `make` sets it up (installing
    packages), never a test."""
    if not command.startswith((".venv/", "make run")):
        return False
    stamp = subprocess.run(["make", "--question", ".venv/.installed-stamp"], cwd=ROOT, capture_output=True)
    return stamp.returncode != 0


@pytest.mark.parametrize("shown", list(COMMANDS), ids=str)
def test_documented_command_prints_what_the_docs_say(shown, tmp_path):
    command, expected = COMMANDS[shown]
    if _venv_not_set_up(command):
        pytest.skip(".venv is not set up (`make test` sets it up)")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = str(tmp_path / "out")
    printed = ""
    for part in command.replace("{out}", out).split(" && "):  # a command that needs another's output first
        done = subprocess.run(shlex.split(part), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        printed += done.stdout
    for fragment in expected:
        assert fragment.replace("{out}", out) in printed, (fragment, printed)
    if "[" in shown:  # a synopsis: the options it lists are the options the help lists
        options = re.compile(r"--[a-z][\w-]*")
        assert set(options.findall(shown)) == set(options.findall(done.stdout)) - {"--help"}
    if shown in PRINTED:
        [block] = [block for doc in DOCS for _, block in _blocks(doc) if block.startswith(PRINTED[shown])]
        assert block.splitlines() == done.stdout.splitlines()


def test_ci_runs_make_test():
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("\nmake test")


# --- Error lines: a distinctive part of each line the READMEs show -> how to make that bad input in a scratch
# folder, and the arguments; the line the CLI prints must be the documented line.

def _my_city(folder: Path, file: str, old: str, new: str) -> None:
    """examples/riverton copied to folder/my-city, with one cell of one file changed."""
    shutil.copytree(ROOT / "examples" / "riverton", folder / "my-city")
    path = folder / "my-city" / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))


MY_CITY = ["run", "--city", "my-city"]
ERRORS: dict[str, tuple[Callable[[Path], object], list[str]]] = {
    "--years: must be a whole number": (lambda d: None, ["run", "--years", "abc"]),
    "bad.toml: key 'programmes.summer.coverrage'": (
        lambda d: (d / "bad.toml").write_text("[programmes.summer]\ncoverrage = 0.5\n"), ["run", "bad.toml"]),
    "my-city/neighborhoods.csv: row 4, column 'disadvantaged_share'": (  # row 4 is the third data row
        lambda d: _my_city(d, "neighborhoods.csv", "\nDowntown,0.08,1.8,1.0,0.55,", "\nDowntown,0.08,1.8,1.0,-0.2,"),
        MY_CITY),
    "my-city/neighborhoods.csv: column 'population_share'": (
        lambda d: _my_city(d, "neighborhoods.csv", "\nOld Mill,0.13,", "\nOld Mill,0.23,"), MY_CITY),
    "my-city/edges.csv: row 5, column 'b'": (
        lambda d: _my_city(d, "edges.csv", "\nOld Mill,Westwood,", "\nOld Mill,Atlantis,"), MY_CITY),
}


def _error_lines() -> list[str]:
    return [line for doc in DOCS for language, block in _blocks(doc) if language == ""
            for line in block.splitlines() if line.startswith("simcity-kids: error: ")]


@pytest.mark.parametrize("part", list(ERRORS))
def test_documented_error_line_is_what_the_cli_prints(part, tmp_path, monkeypatch, capsys):
    [shown] = [line for line in _error_lines() if part in line]
    make_input, argv = ERRORS[part]
    make_input(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == shown


# --- The guard.

def test_every_command_block_and_output_of_the_docs_is_checked():
    shown = [command for doc in DOCS for command in _commands(doc)]
    assert set(shown) == set(COMMANDS), {"not in COMMANDS": set(shown) - set(COMMANDS),
                                         "no longer in the docs": set(COMMANDS) - set(shown)}
    errors = _error_lines()
    for part in ERRORS:
        assert sum(part in line for line in errors) == 1, part
    for doc in DOCS:
        for language, block in _blocks(doc):
            assert language in ("python", "toml", "bash", ""), f"{doc.name}: no test checks a {language!r} block"
            if language == "python":
                assert sum(key in block for key in PYTHON_BLOCKS) == 1, f"{doc.name}: no check for\n{block}"
            elif language != "toml" and not block.startswith(tuple(PRINTED.values())):  # every TOML block is tested
                for line in filter(None, block.splitlines()):  # a command (see above) or a documented error line
                    checked = COMMAND.match(line) or sum(part in line for part in ERRORS) == 1
                    assert checked, f"{doc.name}: no test checks {line!r}"


# --- The parameter reference and the scenario list: generated from the code, checked against it.

def test_the_parameter_reference_is_the_one_the_code_generates():
    from simcity_kids.reference import parameter_reference

    shown = (ROOT / "docs" / "parameters.md").read_text()
    assert shown == parameter_reference(), "regenerate it: simcity-kids parameters > docs/parameters.md"


def test_every_programme_parameter_has_a_unit_a_range_and_a_source_in_the_reference():
    from simcity_kids.programmes import REGISTRY

    reference = (ROOT / "docs" / "parameters.md").read_text()
    for name, cls in REGISTRY.items():
        section = reference.split(f"## `[programmes.{name}]`", 1)[1].split("\n## ", 1)[0]
        for row in cls.config_class.describe():
            [line] = [line for line in section.splitlines() if line.startswith(f"| `{row['name']}` |")]
            key, default, unit, allowed, source = (cell.strip() for cell in line.strip("|").split(" | "))
            assert unit and source, (name, row["name"])
            assert allowed or row["name"] in ("neighborhoods", "schools", "budget_usd"), (name, row["name"])


def test_every_shipped_scenario_is_listed_in_the_readme_with_its_question():
    from simcity_kids.scenario import builtin_scenarios, scenario_question

    readme = (ROOT / "README.md").read_text()
    listed = dict(re.findall(r"^\| `([\w-]+)` \| (.+?) \|$", readme.split("## Scenarios", 1)[1], flags=re.M))
    shipped = builtin_scenarios()
    assert list(listed) == list(shipped)
    for name, path in shipped.items():
        assert listed[name] == scenario_question(path), name
