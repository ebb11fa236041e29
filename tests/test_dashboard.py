"""The dashboard without a browser: its plain functions, and each panel drawn with ``solara.render``.

A panel test changes a control the way the browser would (a value, then the event that commits it) and checks
that the session's scenario or results changed accordingly; figures are checked against the tables they draw.
"""

from __future__ import annotations

import time
from pathlib import Path

import ipyvuetify as v
import numpy as np
import plotly.graph_objects as go
import pytest
import solara

import simcity_kids as sk
from simcity_kids.dashboard import jobs
from simcity_kids.dashboard.controls import declared
from simcity_kids.dashboard.figure import PLOTLY_BUNDLE, Figure, SharedBundleFigureWidget
from simcity_kids.dashboard.panels.child import FollowPanel
from simcity_kids.dashboard.panels.city import CityPanel, city_facts
from simcity_kids.dashboard.panels.compare import ComparePanel, final_costs, headlines, start_run
from simcity_kids.dashboard.panels.export import ExportPanel, results_csv
from simcity_kids.dashboard.panels.map import MapPanel
from simcity_kids.dashboard.panels.scenario import ScenarioBuilder, cards
from simcity_kids.dashboard.panels.steps import StepPanel, current_state, monthly_gaps
from simcity_kids.dashboard.state import Session
from simcity_kids.experiments.figures import (MAP_MEASURES, _neighborhood_measure, neighborhood_map,
                                              neighborhood_values)
from simcity_kids.programmes import registered
from simcity_kids.scenario import builtin_scenarios


def wait_for(condition, seconds: float = 60.0) -> None:
    """Wait for a background task's result to reach the page."""
    ends = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < ends, "timed out waiting for the dashboard"
        time.sleep(0.05)


def commit(field: v.TextField, text: str) -> None:
    """Type into a text field and press Enter, as a user would."""
    field.v_model = text
    field.fire_event("keyup.enter", None)


def texts(rc, kind=v.Alert) -> list[str]:
    return [" ".join(str(c) for c in w.children) for w in rc.find(kind).widgets]


def page_text(rc) -> str:
    """Every text the panel shows: plain text, messages and Markdown."""
    markdown = [str(getattr(w.template, "template", w.template)) for w in rc.find(v.VuetifyTemplate).widgets]
    return "\n".join([*texts(rc, v.Html), *texts(rc), *markdown])


@pytest.fixture
def session() -> Session:
    return Session()


@pytest.fixture(scope="module")
def small_comparison() -> sk.Comparison:
    """Baseline, By All Means and universal summer on Salem, 2 seeds, 2 years, 1 child in 4."""
    return jobs.comparison([sk.load_scenario(name)[0] for name in ("baseline", "by_all_means", "universal_summer")],
                           sk.load_city("salem"), seeds=2, years=2, scale=4.0)


# --- plain functions ----------------------------------------------------------------------------------------------
def test_every_shipped_scenario_exports_to_toml_that_loads_back_to_the_same_hash(tmp_path: Path):
    for name in builtin_scenarios():
        config, _ = sk.load_scenario(name)
        path = tmp_path / f"{name}.toml"
        path.write_text(config.to_toml())
        assert sk.load_scenario(path)[0].config_hash() == config.config_hash(), name
    edited = sk.load_scenario("baseline")[0].with_overrides(
        {"programmes.summer.coverage": 0.35, "programmes.summer.neighborhoods": ("The Point",),
         "programmes.summer.targeting": "neighborhoods", "programmes.preschool.budget_usd": 1e6, "name": "x"})
    path = tmp_path / "edited.toml"
    path.write_text(edited.to_toml())
    assert sk.load_scenario(path)[0].config_hash() == edited.config_hash()


def test_every_parameter_of_every_programme_gets_a_control_from_its_declaration():
    titles = [title for title, _, _ in cards()]
    assert titles == ["children's cabinet", *(cls.name.replace("_", " ") for cls in registered())]
    for _, section, parameters in cards():
        assert parameters, section
        for parameter in parameters:
            assert parameter.kind != "fixed", parameter.path  # every declared type has a control
            assert parameter.unit, parameter.path
    summer = {p.name: p for p in declared("programmes.summer", registered()[-2].config_class)}
    assert summer["coverage"].kind == "number" and summer["coverage"].range == ">= 0 and <= 1"
    assert summer["budget_usd"].kind == "optional_number" and summer["start_year"].kind == "whole"
    assert summer["waitlist_order"].choices == ("lottery", "lowest_income", "highest_need")
    assert summer["neighborhoods"].kind == "names" and not summer["effect_sd"].lever


def test_headline_costs_and_csv_read_the_comparisons_own_tables(small_comparison):
    differences = small_comparison.differences().reset_index()
    primary = small_comparison.primary
    lines = headlines(small_comparison)
    assert len(lines) == 2
    for line, scenario in zip(lines, ["by_all_means", "universal_summer"]):
        row = differences[(differences.scenario == scenario) & (differences.year == 1)
                          & (differences.outcome == primary)].iloc[0]
        assert line.startswith(f"{scenario}: {primary} changes by {row['mean']:+.3f} SD [{row.ci_low:+.3f}, ")
    costs = final_costs(small_comparison).set_index("scenario")
    mean_cost = small_comparison.costs().xs((1, "cost_usd"), level=("year", "measure"))["mean"]
    by_all_means = mean_cost.xs("by_all_means", level="scenario").iloc[0]
    assert costs.loc["by_all_means", "cost_usd"].startswith(f"{by_all_means:,.4g}")
    csv = results_csv(small_comparison)
    assert csv.count("\n") == len(small_comparison.estimates()) + len(small_comparison.differences()) + 1


def test_the_map_colours_each_neighborhood_by_the_runs_own_numbers(small_comparison):
    store, plan = small_comparison.store, small_comparison.plan
    runs = [spec for spec in plan.runs if spec.scenario == "by_all_means"]
    expected = []
    for spec in runs:
        table = store.outcomes(spec.run_id)
        final = table[(table.year == 1) & (table.group_kind == "neighborhood") & (table.grade == "all")]
        waiting = final[final.metric.astype(str).str.endswith("_waitlisted")]
        expected.append(waiting.groupby(waiting.group.astype(str))["value"].sum())
    waitlist = neighborhood_values(small_comparison, "by_all_means", "waitlist")
    assert np.allclose(waitlist.sort_index(), (sum(expected) / len(expected)).sort_index())
    table = store.outcomes(runs[0].run_id)  # cost and unmet needs of one run, by hand
    final = table[(table.year == 1) & (table.grade == "all")].assign(metric=lambda t: t.metric.astype(str),
                                                                     group=lambda t: t.group.astype(str))
    price = final[(final.group_kind == "programme") & (final.metric == "cost_per_child_served_usd")].set_index(
        "group")["value"]
    hood = final[(final.group_kind == "neighborhood") & (final.group == "The Point")].set_index("metric")["value"]
    cost = sum(hood[f"{name}_enrolled"] * price[name] for name in price.index if f"{name}_enrolled" in hood)
    unmet = 100 * hood[[m for m in hood.index if m.startswith("unmet_") and m.endswith("_rate")]].sum()
    assert cost > 0 and unmet > 0
    assert _neighborhood_measure(table, "cost")["The Point"] == pytest.approx(cost)
    assert _neighborhood_measure(table, "unmet_needs")["The Point"] == pytest.approx(unmet)
    change = neighborhood_values(small_comparison, "by_all_means", "change")
    gap, reference_gap = (neighborhood_values(small_comparison, name, "gap") for name in ("by_all_means", "baseline"))
    city_change = (reference_gap - gap) - change  # gap = city mean - neighborhood mean: the same city shift for all
    assert np.allclose(city_change, city_change.iloc[0])
    figure = neighborhood_map(small_comparison, "by_all_means", "waitlist")
    names = [hood.name for hood in plan.city.neighborhoods]
    assert list(figure.data[1].text) == names
    assert np.allclose(figure.data[1].marker.color, waitlist.reindex(names))
    with pytest.raises(ValueError, match="measure must be one of"):
        neighborhood_values(small_comparison, "by_all_means", "happiness")


def test_the_yearly_cost_is_the_models_cost_once_every_programme_is_phased_in():
    config, city = sk.load_scenario("by_all_means")[0], sk.load_city("salem")  # phased in over 2 years
    estimate = jobs.yearly_cost(config, city)
    model = sk.CityModel(config, city, seed=0, years=2, scale=city.pupils / jobs.COST_SAMPLE_PUPILS).run()
    costs = model.outcomes.table()
    costs = costs[(costs.metric == "cost_usd") & (costs.year == 1)].assign(group=lambda t: t.group.astype(str))
    assert estimate["total"] == pytest.approx(costs.loc[costs.group == "total", "value"].sum())
    assert estimate["summer"] == pytest.approx(costs.loc[costs.group == "summer", "value"].iloc[0])
    assert "mentoring" not in estimate  # nothing funded, nothing shown


def test_the_same_comparison_asked_twice_runs_once_and_reports_progress(small_comparison):
    scenarios = [sk.load_scenario(name)[0] for name in ("baseline", "by_all_means", "universal_summer")]
    calls: list[tuple[int, int]] = []
    again = jobs.comparison(scenarios, sk.load_city("salem"), seeds=2, years=2, scale=4.0,
                            on_run=lambda done, total: calls.append((done, total)))
    assert again.folder == small_comparison.folder and calls == []  # read, not run again
    fresh = jobs.comparison(scenarios[:2], sk.load_city("salem"), seeds=2, years=1, scale=10.0,
                            on_run=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)] and (fresh.runs().status == "done").all()


def test_a_session_compares_its_scenario_with_the_reference_and_the_chosen_ones_each_once(session):
    session.others.set(["by_all_means", "universal_summer", "baseline"])
    assert [config.name for config in session.compared()] == ["baseline", "by_all_means", "universal_summer"]
    session.set_parameter("programmes.mentoring.coverage", 0.2)
    assert [config.name for config in session.compared()] == ["baseline", "by_all_means_edited", "by_all_means",
                                                               "universal_summer"]


def test_city_facts_are_the_profiles_numbers():
    city = sk.load_city("louisville")
    facts = dict(city_facts(city).values)
    assert facts["pupils (K-12)"] == f"{city.pupils:,}"
    assert facts["neighborhoods"] == str(len(city.neighborhoods))
    assert facts["providers"] == f"{len(city.providers)} sites"


# --- panels -------------------------------------------------------------------------------------------------------
def test_city_panel_switches_city_and_shows_an_unreadable_folder_in_the_page(session, tmp_path):
    box, rc = solara.render(CityPanel(session), handle_error=False)
    rc.find(v.Select, label="Built-in city").widget.v_model = "louisville"
    assert session.city.value.name == sk.load_city("louisville").name
    (tmp_path / "broken").mkdir()
    commit(rc.find(v.TextField, label="or import: a city TOML file or a folder of city CSV files").widget,
           str(tmp_path / "broken"))
    rc.find(v.Btn, children=["Import"]).widget.click()
    assert session.city.value.name == sk.load_city("louisville").name  # the city is kept
    assert any("broken" in text for text in texts(rc)), texts(rc)


def test_scenario_builder_controls_change_the_scenario(session):
    session.start_from("baseline")
    box, rc = solara.render(ScenarioBuilder(session), handle_error=False)
    assert session.scenario.value.programmes.summer.coverage == 0
    rc.find(v.Switch, label="summer").widget.v_model = True
    assert session.scenario.value.programmes.summer.coverage == pytest.approx(0.5)
    assert session.scenario.value.name == "baseline_edited"
    card = rc  # the only card switched on: its controls are the only ones
    commit(card.find(v.TextField, label="coverage").widget, "0.8")
    assert session.scenario.value.programmes.summer.coverage == pytest.approx(0.8)
    card.find(v.Select, label="waitlist order").widget.v_model = "lowest_income"
    assert session.scenario.value.programmes.summer.waitlist_order == "lowest_income"
    commit(card.find(v.TextField, label="start year").widget, "2")
    assert session.scenario.value.programmes.summer.start_year == 2
    commit(card.find(v.TextField, label="coverage").widget, "1.5")  # out of range: refused, said in the page
    assert session.scenario.value.programmes.summer.coverage == pytest.approx(0.8)
    assert any("programmes.summer.coverage" in text and "1" in text for text in texts(rc)), texts(rc)
    commit(card.find(v.TextField, label="coverage").widget, "0.6")
    assert not session.scenario_error.value
    rc.find(v.Switch, label="summer").widget.v_model = False
    assert session.scenario.value.programmes.summer.coverage == 0
    rc.find(v.TextField, label="Scenario name").widget.v_model = "our_plan"  # typed: no Enter needed
    assert session.scenario.value.name == "our_plan"


def test_scenario_builder_shows_the_yearly_cost_of_the_scenario(session):
    box, rc = solara.render(ScenarioBuilder(session), handle_error=False)
    expected = jobs.yearly_cost(session.scenario.value, session.city.value)["total"]
    wait_for(lambda: f"Total: ${expected:,.0f} a year" in page_text(rc))
    session.set_parameter("programmes.mentoring.coverage", 0.5)
    more = jobs.yearly_cost(session.scenario.value, session.city.value)
    assert more["mentoring"] > 0 and more["total"] > expected
    wait_for(lambda: f"Total: ${more['total']:,.0f} a year" in page_text(rc))


def test_a_dropped_scenario_file_replaces_the_builders_scenario_or_says_what_is_wrong(session):
    config = sk.load_scenario("universal_summer")[0]
    session.load_toml(config.to_toml(), "mine.toml")
    assert session.scenario.value.config_hash() == config.config_hash()
    session.load_toml("[programmes.summer]\ncoverage = 2.0\n", "bad.toml")
    assert "bad.toml" in session.scenario_error.value and "programmes.summer.coverage" in session.scenario_error.value
    assert session.scenario.value.config_hash() == config.config_hash()


def test_compare_panel_runs_in_the_background_and_shows_the_paired_change(session):
    session.seeds.set(2)
    session.years.set(1)
    session.scale.set(10.0)

    @solara.component
    def Page():
        runner = solara.lab.use_task(lambda: start_run(session, runner), dependencies=None)
        ComparePanel(session, runner)

    box, rc = solara.render(Page(), handle_error=False)
    rc.find(v.Btn, children=["Run"]).widget.click()
    wait_for(lambda: session.comparison.value is not None)
    wait_for(lambda: any("changes by" in text for text in texts(rc)))
    assert any(text.startswith("by_all_means: reading_mean_gap/Q5-Q1 changes by") for text in texts(rc))
    assert session.comparison.value.plan.seeds == (0, 1)
    session.seeds.set(0)  # out of range: the page says so and keeps the last result
    wait_for(lambda: not rc.find(v.Btn, children=["Run"]).widget.disabled)
    rc.find(v.Btn, children=["Run"]).widget.click()
    wait_for(lambda: session.run_error.value != "")
    assert "seeds" in session.run_error.value
    assert any("seeds" in text for text in texts(rc))


def test_map_panel_recolours_by_the_chosen_outcome(session, small_comparison):
    session.comparison.set(small_comparison)
    box, rc = solara.render(MapPanel(session), handle_error=False)
    assert MAP_MEASURES["gap"][0] in page_text(rc)
    rc.find(v.Select, label="Colour by").widget.v_model = "cost"
    assert MAP_MEASURES["cost"][0] in page_text(rc)
    figure = neighborhood_map(small_comparison, "universal_summer", "cost")
    expected = neighborhood_values(small_comparison, "universal_summer", "cost")
    assert np.allclose(figure.data[1].marker.color, expected.reindex(figure.data[1].text))


def test_follow_panel_shows_the_childs_success_plan(session):
    session.start_from("by_all_means")
    box, rc = solara.render(FollowPanel(session), handle_error=False)
    rc.find(v.Btn, class_="simcity-follow").widget.click()
    wait_for(lambda: "coordinator's log" in page_text(rc))
    assert "success plan review found" in page_text(rc)


def test_export_panel_offers_the_scenario_toml_that_loads_back(session, small_comparison, tmp_path):
    session.set_parameter("programmes.mentoring.coverage", 0.3)
    box, rc = solara.render(ExportPanel(session), handle_error=False)
    assert session.scenario.value.config_hash() in page_text(rc)
    assert any("Download the scenario (TOML)" in text for text in texts(rc, v.Btn))
    path = tmp_path / "exported.toml"
    path.write_text(session.scenario.value.to_toml())  # what the button sends (the browser test downloads it)
    assert sk.load_scenario(path)[0].config_hash() == session.scenario.value.config_hash()
    assert not any("HTML report" in text for text in texts(rc, v.Btn))
    session.comparison.set(small_comparison)
    assert any("Download the HTML report" in text for text in texts(rc, v.Btn))


def test_step_panel_advances_one_month_with_mesas_controller(session):
    session.years.set(1)
    box, rc = solara.render(StepPanel(session), handle_error=False)
    rc.find(v.Btn, class_="simcity-step-start").widget.click()
    rc.find(v.Btn, children=["Step"]).widget.click()
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert "Next month: Nov, school year 0" in page_text(rc)


def test_a_figure_widget_draws_its_figure_and_imports_plotly_from_the_server_not_from_itself():
    from solara.server.server import asset_directories

    shown = solara.reactive(go.Figure(go.Scatter(x=[0, 1], y=[2, 3], name="first"), layout={"title": "one"}))

    @solara.component
    def Page():
        Figure(shown.value)

    _, rc = solara.render(Page(), handle_error=False)
    widget = rc.find(SharedBundleFigureWidget).widget
    assert [trace.name for trace in widget.data] == ["first"] and widget.layout.title.text == "one"
    shown.set(go.Figure([go.Bar(x=[0], y=[1], name="a"), go.Bar(x=[1], y=[2], name="b")], layout={"title": "two"}))
    assert [trace.name for trace in widget.data] == ["a", "b"] and widget.layout.title.text == "two"
    assert len(widget._esm) < 1_000 and f"/static/assets/{PLOTLY_BUNDLE.name}" in widget._esm
    served: dict[str, Path] = {}  # what the page's /static/assets/<name> serves: the first folder's file
    for folder in asset_directories():
        for path in Path(folder).glob("*.js"):
            served.setdefault(path.name, path)
    assert served[PLOTLY_BUNDLE.name] == PLOTLY_BUNDLE
    assert PLOTLY_BUNDLE.name in served["custom.js"].read_text()  # preloaded with the page


def test_step_figures_read_the_models_state():
    model = sk.CityModel("by_all_means", "salem", years=1, scale=5)
    for _ in range(3):
        model.step()
    state = dict(current_state(model).values)
    plans = getattr(model.children, model.programme("success_plans").enrolled)
    assert plans.any()
    assert state["enrolled: success plans"] == f"{np.count_nonzero(plans) * model.child_weight:,.0f}"
    assert model.running and model.month == 3
    for _ in range(9):
        model.step()
    assert not model.running  # the last month has run: Mesa's play button stops
    figure = monthly_gaps(model.outcomes.trace()[lambda t: t.year * 12 + (t.month - 9) % 12 < 3])
    trace = model.outcomes.trace()
    assert {d.name for d in figure.data} == set(trace.metric)
    assert list(figure.data[0].x) == [0, 1, 2]
