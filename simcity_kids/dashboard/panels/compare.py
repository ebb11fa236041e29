"""Run and compare: the session's scenarios on paired seeds in the background, then gaps, costs and who gains.

The run is a task (``solara.lab.use_task`` in ``app.py``): the page stays responsive and shows the share of runs
done. Every figure is a plain function of the finished :class:`~simcity_kids.experiments.Comparison`
(``experiments/figures.py``), as in the HTML report.
"""

from __future__ import annotations

import pandas as pd
import solara

from ...core.validation import ConfigError
from ...experiments import figures
from ...experiments.comparison import SUBJECTS, Comparison
from ...experiments.config import DEFAULT_OUTCOMES
from ...experiments.figures import unit
from ...scenario import builtin_scenarios
from .. import jobs
from ..figure import Figure
from ..state import Session

SCALES = [1.0, 2.0, 5.0, 10.0]  # one simulated child stands for this many (coarser is faster)


def run_comparison(session: Session, on_run) -> Comparison:
    """The session's comparison, run on the server's shared pool (``jobs.comparison``)."""
    return jobs.comparison(session.compared(), session.city.value, seeds=session.seeds.value,
                           years=session.years.value, scale=session.scale.value, on_run=on_run)


def headlines(comparison: Comparison) -> list[str]:
    """One sentence per compared scenario: its paired change in the primary gap in the final year."""
    differences = comparison.differences()
    if differences.empty:
        return [f"Only {comparison.reference} ran: add a scenario that differs from it to see a change."]
    primary, final = comparison.primary, comparison.plan.years - 1
    rows = differences.reset_index()
    rows = rows[(rows.outcome == primary) & (rows.year == final) & (rows.point == 0)]
    seeds = len(comparison.plan.seeds)
    return [f"{row.scenario}: {primary} changes by {row.mean:+.3f} {unit(primary)} "
            + (f"[{row.ci_low:+.3f}, {row.ci_high:+.3f}] " if pd.notna(row.ci_low) else "")
            + f"in year {final} against {comparison.reference} ({seeds} paired seed{'s' * (seeds > 1)})"
            for row in rows.itertuples()]


def final_costs(comparison: Comparison) -> pd.DataFrame:
    """The final year's costs per scenario: mean [95% interval] of cost, cost per child served, extra cost and
    gap closed per million dollars."""
    costs = comparison.costs().xs(comparison.plan.years - 1, level="year").reset_index()
    costs = costs[costs.point == 0]
    costs["shown"] = costs["mean"].map("{:,.4g}".format) + costs.apply(
        lambda row: f" [{row.ci_low:,.4g}, {row.ci_high:,.4g}]" if pd.notna(row.ci_low) else "", axis=1)
    return costs.pivot(index="scenario", columns="measure", values="shown").fillna("").reset_index()


@solara.component
def CompareSettings(session: Session, runner):
    shipped = list(builtin_scenarios())
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
        solara.Select("Reference", values=shipped, value=session.reference)
        solara.Text(f"against: {session.scenario.value.name} (the builder's scenario)")
        solara.SelectMultiple("and", values=session.others.value, all_values=shipped, on_value=session.others.set)
        solara.InputInt("seeds", value=session.seeds, continuous_update=False)
        solara.InputInt("years", value=session.years, continuous_update=False)
        solara.Select("one simulated child stands for", values=SCALES, value=session.scale)
        solara.Button("Run", color="primary", on_click=runner, disabled=runner.pending,
                      classes=["simcity-run"])
    if runner.pending:
        done = runner.progress or 0
        solara.ProgressLinear(done if done else True)
        solara.Text(f"running: {done:.0f}% of the runs done", classes=["simcity-progress"])
    if session.run_error.value:
        solara.Error(session.run_error.value, classes=["simcity-run-error"])


@solara.component
def ComparePanel(session: Session, runner):
    with solara.Column():
        CompareSettings(session, runner)
        if session.comparison.value is None:
            solara.Info("Choose the scenarios and press Run: each runs on the same seeds (paired).")
        else:
            Results(session.comparison.value)


@solara.component
def Results(comparison: Comparison):
    """A finished comparison's tables and figures, each computed once per comparison and choice (the panel is
    drawn again at every step of the next run's progress)."""
    outcome = solara.use_reactive(DEFAULT_OUTCOMES[0])
    subject = solara.use_reactive(SUBJECTS[0])
    runs, lines, costs, frontier, summary = solara.use_memo(lambda: (
        comparison.runs(), headlines(comparison), final_costs(comparison), figures.cost_vs_gap_closed(comparison),
        comparison.summary().reset_index()), [comparison])
    trajectory, difference = solara.use_memo(lambda: (figures.gap_trajectories(comparison, outcome.value),
                                                      figures.paired_differences(comparison, outcome.value)),
                                             [comparison, outcome.value])
    losers = solara.use_memo(lambda: None if frontier is None else figures.winners_losers(comparison, subject.value),
                             [comparison, subject.value])
    for row in runs[runs.status == "failed"].itertuples():
        solara.Error(f"run {row.run_id} failed: {row.error}")
    for line in lines:
        solara.Success(line, classes=["simcity-headline"])
    solara.Select("Outcome", values=list(comparison.plan.outcomes), value=outcome)
    with solara.ColumnsResponsive(12, large=6):
        Figure(trajectory)
        if difference is not None:
            Figure(difference)
    solara.HTML(tag="h4", unsafe_innerHTML="Costs in the final year (USD; gap closed per $1M of extra cost, SD)")
    solara.DataFrame(costs)
    if frontier is not None:
        with solara.ColumnsResponsive(12, large=6):
            Figure(frontier)
            with solara.Column():
                solara.ToggleButtonsSingle(value=subject, values=list(SUBJECTS))
                Figure(losers)
    solara.HTML(tag="h4", unsafe_innerHTML="Final year: mean [95% interval] and paired difference")
    solara.DataFrame(summary, items_per_page=40)


def start_run(session: Session, task) -> Comparison | None:
    """The body of the session's run task: errors go to the page, not to the server log."""
    def report(done: int, total: int) -> None:
        task.progress = 100 * done / total

    session.run_error.set("")
    try:
        result = run_comparison(session, report)
    except ConfigError as exc:
        session.run_error.set(str(exc))
        return None
    except Exception as exc:  # a failed run must not take the page down
        session.run_error.set(f"the comparison failed: {type(exc).__name__}: {exc}")
        return None
    runs = result.runs()
    if not (runs.status == "done").any():
        session.run_error.set(f"no run finished; the first error: {runs.error.dropna().iloc[0]}")
        return None
    session.comparison.set(result)
    return result
