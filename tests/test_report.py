"""The experiment report and its figures: each figure shows the numbers of the table it is drawn from, and the
report is one file that opens offline (plotly.js inline once, nothing fetched from the network).
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

import simcity_kids as sk
from simcity_kids.experiments import figures
from simcity_kids.experiments.comparison import SUBJECTS, WINNER_GROUPS
from simcity_kids.experiments.report import write_report

from conftest import TEST_SEED

SCENARIOS = ["baseline", "by_all_means", "universal_summer"]
GRAPH = 'class="plotly-graph-div"'
TOY = """name = "toy_sa"
scenarios = ["baseline"]
seeds = 1
years = 2
outcomes = ["reading_mean_gap/Q5-Q1"]
[design]
method = "morris"
samples = 2
parameters = {"learning.fade_rate" = [0.02, 0.06], "learning.persistent_share" = [0.3, 0.7]}
"""


@pytest.fixture(scope="module")
def comparison(tmp_path_factory) -> sk.Comparison:
    """Three scenarios, two paired replicates of two years, run serially."""
    return sk.compare(SCENARIOS, city="salem", seeds=2, years=2, seed=TEST_SEED, workers=1,
                      out=tmp_path_factory.mktemp("report") / "comparison")


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> sk.Comparison:
    """A Morris design over two learning parameters of the baseline alone: sensitivity indices, no comparison."""
    folder = tmp_path_factory.mktemp("toy")
    (folder / "toy_sa.toml").write_text(TOY)
    return sk.run_experiment(folder / "toy_sa.toml", out=folder / "results", workers=1)


def _trace(figure: go.Figure, name: str) -> go.Scatter | go.Bar:
    (trace,) = [trace for trace in figure.data if trace.name == name]
    return trace


def _check_titled(figure: go.Figure, x_unit: str, y_unit: str) -> None:
    assert figure.layout.title.text
    assert f"({x_unit})" in figure.layout.xaxis.title.text and f"({y_unit})" in figure.layout.yaxis.title.text


# --- figures --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("outcome, unit", [(None, "SD"), ("cost_usd/total", "USD"), ("graduation_rate", "share")])
def test_trajectories_are_the_estimates_with_their_intervals(comparison, outcome, unit):
    figure = figures.gap_trajectories(comparison, outcome)
    estimates = comparison.estimates()
    for scenario in SCENARIOS:
        rows = estimates.xs((scenario, 0, outcome or comparison.primary), level=("scenario", "point", "outcome"))
        line, band = _trace(figure, scenario), _trace(figure, f"{scenario}: 95% interval")
        assert list(line.x) == list(rows.index)
        np.testing.assert_allclose(line.y, rows["mean"])
        np.testing.assert_allclose(band.y, [*rows.ci_high, *rows.ci_low[::-1]])
    _check_titled(figure, "0 = the first", unit)
    with pytest.raises(ValueError, match="not an outcome"):
        figures.gap_trajectories(comparison, "no_such_metric")


def test_paired_differences_are_the_differences_with_their_intervals(comparison):
    figure = figures.paired_differences(comparison)
    differences = comparison.differences()
    assert [trace.name for trace in figure.data] == SCENARIOS[1:]  # the reference is the zero line
    for scenario in SCENARIOS[1:]:
        rows = differences.xs((scenario, 0, comparison.primary), level=("scenario", "point", "outcome"))
        trace = _trace(figure, scenario)
        np.testing.assert_allclose(trace.y, rows["mean"])
        np.testing.assert_allclose(trace.error_y.array, rows.ci_high - rows["mean"])
        np.testing.assert_allclose(trace.error_y.arrayminus, rows["mean"] - rows.ci_low)
    assert [shape.y0 for shape in figure.layout.shapes] == [0]
    _check_titled(figure, "0 = the first", "SD")


def test_cost_figure_shows_the_frontier_and_joins_its_efficient_points(comparison):
    figure = figures.cost_vs_gap_closed(comparison)
    frontier = comparison.frontier()
    shown = sorted((x, y) for trace in figure.data for x, y in zip(trace.x, trace.y))
    np.testing.assert_allclose(shown, sorted(zip(frontier.extra_cost_usd, frontier.gap_closed)))
    front = _trace(figure, "efficient (Pareto front)")
    efficient = frontier[frontier.efficient].sort_values("extra_cost_usd")
    assert front.mode == "lines+markers"
    np.testing.assert_allclose(front.x, efficient.extra_cost_usd)
    np.testing.assert_allclose(front.y, efficient.gap_closed)
    assert sorted(text for trace in figure.data for text in trace.text) == sorted(frontier.index.get_level_values(0))
    _check_titled(figure, "USD", "SD")


@pytest.mark.parametrize("subject", SUBJECTS)
def test_winners_and_losers_bars_are_the_shares_by_group(comparison, subject):
    figure = figures.winners_losers(comparison, subject)
    table = comparison.winners_losers()
    for scenario in SCENARIOS[1:]:
        for share in ("winners", "losers"):
            rows = table.xs((scenario, 0, subject, share), level=("scenario", "point", "subject", "share"))
            bars = _trace(figure, f"{scenario}: {share}")
            assert list(zip(*bars.x)) == list(rows.index)  # (group kind, group) on a two-level axis
            np.testing.assert_allclose(bars.y, rows["mean"])
            np.testing.assert_allclose(bars.error_y.array, rows.ci_high - rows["mean"])
            assert list(dict.fromkeys(bars.x[0])) == list(WINNER_GROUPS)
    assert "(share" in figure.layout.yaxis.title.text and figure.layout.title.text


def test_views_that_need_a_design_or_a_second_scenario_are_none_without_one(comparison, toy):
    assert figures.sensitivity(comparison) is None
    assert figures.paired_differences(toy) is None
    assert figures.cost_vs_gap_closed(toy) is None
    assert figures.winners_losers(toy) is None


def test_morris_design_gives_mu_star_bars_with_their_confidence(toy):
    figure = figures.sensitivity(toy)
    indices = toy.sensitivity()
    mu_star = indices[indices["index"] == "mu_star"]
    (bars,) = figure.data
    assert bars.name == "mu_star" and bars.orientation == "h"
    assert list(bars.y) == ["learning.fade_rate", "learning.persistent_share"] == list(mu_star.parameter)
    np.testing.assert_allclose(bars.x, mu_star.value)
    np.testing.assert_allclose(bars.error_x.array, mu_star.conf)
    assert "mu*" in figure.layout.xaxis.title.text and "(SD" in figure.layout.xaxis.title.text


# --- the report -----------------------------------------------------------------------------------------------
class _Tags(HTMLParser):
    """Every tag's attributes (a script's text is not parsed, so plotly.js's own strings are not tags)."""

    def __init__(self, page: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _check_offline(page: str, figure_count: int) -> None:
    tags = _Tags(page).tags
    links = [value for _, attrs in tags for key, value in attrs.items() if key in ("src", "href") and value]
    assert not [link for link in links if link.lower().lstrip().startswith(("http://", "https://", "//"))]
    assert not [attrs for tag, attrs in tags if tag == "script" and "src" in attrs]
    assert page.count(get_plotlyjs()) == 1 and page.index(get_plotlyjs()) < page.index("<body>")
    assert page.count(GRAPH) == page.count("Plotly.newPlot(") == figure_count


def test_report_is_one_offline_file_with_a_div_per_figure(comparison):
    path = write_report(comparison.folder)
    assert path == comparison.folder / "report.html"
    page = path.read_text(encoding="utf-8")
    assert "<h1>comparison: simcity-kids experiment report</h1>" in page
    for fact in ("Salem", comparison.manifest["config_hash"], "6 done, 0 failed, 0 pending", *SCENARIOS):
        assert fact in page
    outcomes = len(comparison.plan.outcomes)
    _check_offline(page, 2 * outcomes + 1 + len(SUBJECTS))  # trajectories, differences, frontier, winners
    assert "Sensitivity indices" not in page
    assert [p.name for p in comparison.folder.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_report_of_a_morris_design_has_its_sensitivity_section(toy, tmp_path):
    path = write_report(toy.folder, tmp_path / "nested" / "toy.html")
    page = path.read_text(encoding="utf-8")
    assert "toy_sa" in page and "morris, 6 points over learning.fade_rate" in page
    assert "<h2>Sensitivity indices</h2>" in page and "Nothing to compare" in page
    _check_offline(page, 2)  # the trajectory and the indices


def test_report_escapes_names_and_errors_from_user_files(tmp_path):
    (tmp_path / "toy.toml").write_text(TOY.replace('"toy_sa"', '"toy <i>&</i>"').replace("years = 2", "years = 1"))
    results = sk.run_experiment(tmp_path / "toy.toml", out=tmp_path / "results", workers=1)
    run_id = results.plan.runs[-1].run_id
    results.store.outcomes_path(run_id).unlink()
    results.store.write_failure(run_id, "ValueError: <script>alert(1)</script>")
    page = write_report(tmp_path / "results").read_text(encoding="utf-8")
    assert "toy &lt;i&gt;&amp;&lt;/i&gt;" in page and "<i>&</i>" not in page
    assert "5 done, 1 failed, 0 pending" in page and run_id in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
