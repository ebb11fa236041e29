"""Plotly figures of an experiment's results, one function per view, each reading a :class:`Comparison`.

Plain functions returning ``plotly.graph_objects.Figure`` so that the HTML report, a dashboard and a notebook draw
the same pictures, and tests can check a figure's numbers against the table they come from without any UI. A
view that needs something the experiment does not have (a second scenario, a Sobol or Morris design) returns None.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import hex_to_rgb, qualitative

from ..outcomes import GRADE_ALL
from .comparison import SUBJECTS, Comparison
from .config import outcome_parts

# What the neighborhood map colours by: (title, unit) of each measure of :func:`neighborhood_values`.
MAP_MEASURES = {
    "gap": ("gap: the city's mean score minus the neighborhood's (reading and math)", "SD"),
    "change": ("change in the neighborhood's mean score against the reference, same seeds", "SD"),
    "reach": ("children enrolled in the programmes (a child in two counts twice)", "children"),
    "unmet_needs": ("unmet needs per 100 children", "per 100 children"),
    "waitlist": ("children who waited for a programme's slot", "children"),
    "cost": ("programme cost spent on the neighborhood's children", "USD"),
}
FEW_POINTS = 5  # a scenario with more design points than this is drawn at point 0 only, to stay readable
PALETTE = qualitative.Plotly
YEAR = "school year of the run (0 = the first)"


def unit(outcome: str) -> str:
    """An outcome's unit from its metric's name (the outcomes table's naming), for axis titles."""
    metric = outcome_parts(outcome)[0]
    if metric.startswith("cost"):
        return "USD"
    if metric.endswith(("_rate", "_proficiency", "_share")):
        return "share"
    if metric.endswith(("_gap", "_mean")) or metric.startswith("summer_change"):
        return "SD"
    return "number"


def series(comparison: Comparison) -> list[tuple[str, int, str, str]]:
    """(scenario, point, label, colour) of each line: every point of a scenario with few design points, else point 0.
    Colours follow this list, so a scenario has the same colour in every figure."""
    chosen = []
    for scenario in comparison.plan.scenarios:
        count = len(comparison.plan.points(scenario))
        chosen += [(scenario, point, scenario if count == 1 else f"{scenario}, point {point}")
                   for point in (range(count) if count <= FEW_POINTS else [0])]
    return [(scenario, point, label, PALETTE[i % len(PALETTE)]) for i, (scenario, point, label) in enumerate(chosen)]


def gap_trajectories(comparison: Comparison, outcome: str | None = None) -> go.Figure:
    """Each scenario's mean of ``outcome`` (default: the primary one) by year, with its 95% interval as a band."""
    outcome = outcome or comparison.primary
    table = _outcome_rows(comparison.estimates(), outcome)
    figure = go.Figure()
    for scenario, point, label, colour in series(comparison):
        rows = _rows(table, scenario, point)
        if rows.empty:
            continue
        known = rows.dropna(subset=["ci_low", "ci_high"])
        if not known.empty:
            figure.add_trace(go.Scatter(
                x=[*known.year, *known.year[::-1]], y=[*known.ci_high, *known.ci_low[::-1]], fill="toself",
                fillcolor=_faded(colour), line={"width": 0}, name=f"{label}: 95% interval", legendgroup=label,
                showlegend=False, hoverinfo="skip"))
        figure.add_trace(go.Scatter(x=rows.year, y=rows["mean"], mode="lines+markers", name=label, legendgroup=label,
                                    line={"color": colour}, customdata=rows[["ci_low", "ci_high"]],
                                    hovertemplate="%{y:.3f} [%{customdata[0]:.3f}, %{customdata[1]:.3f}]"))
    replicates = len(comparison.plan.seeds)
    note = f"mean over {replicates} replicate{'s' * (replicates > 1)}; band: 95% interval"
    return _titled(figure, f"{outcome} by year", note, YEAR, f"{outcome} ({unit(outcome)})")


def paired_differences(comparison: Comparison, outcome: str | None = None) -> go.Figure | None:
    """Each other scenario minus the reference on the same seeds, by year, with the paired 95% interval: common
    random numbers make it much narrower than the two trajectories' bands suggest. None without another scenario."""
    outcome = outcome or comparison.primary
    differences = comparison.differences()
    if differences.empty:
        return None
    table = _outcome_rows(differences, outcome)
    figure = go.Figure()
    for scenario, point, label, colour in series(comparison):
        rows = _rows(table, scenario, point)
        if not rows.empty:
            figure.add_trace(go.Scatter(x=rows.year, y=rows["mean"], mode="lines+markers", name=label,
                                        line={"color": colour}, error_y=_error(rows)))
    figure.add_hline(y=0, line={"color": "grey", "dash": "dash"})
    return _titled(figure, f"{outcome}: paired difference from {comparison.reference}",
                   f"scenario minus {comparison.reference}, replicate by replicate; bars: 95% interval",
                   YEAR, f"difference in {outcome} ({unit(outcome)})")


def cost_vs_gap_closed(comparison: Comparison) -> go.Figure | None:
    """The frontier: what each option costs beyond the reference against how much of the primary gap it closes;
    the efficient options, joined, are the Pareto front. None without another scenario."""
    if comparison.differences().empty:
        return None
    table = comparison.frontier().reset_index()
    names = [c for c in table.columns if c not in ("scenario", "point", "extra_cost_usd", "gap_closed", "efficient")]
    table["text"] = [_option(comparison, row, names) for row in table.to_dict("records")]
    hover = "%{text}<br>extra cost %{x:,.0f} USD a year<br>closed %{y:.3f}<extra></extra>"
    figure = go.Figure()
    dominated, front = table[~table.efficient], table[table.efficient].sort_values("extra_cost_usd")
    if not dominated.empty:
        figure.add_trace(go.Scatter(x=dominated.extra_cost_usd, y=dominated.gap_closed, text=dominated.text,
                                    mode="markers", name="dominated", marker={"color": "lightgrey", "size": 9},
                                    hovertemplate=hover))
    figure.add_trace(go.Scatter(x=front.extra_cost_usd, y=front.gap_closed, text=front.text, mode="lines+markers",
                                name="efficient (Pareto front)", marker={"color": PALETTE[0], "size": 12},
                                hovertemplate=hover))
    primary = comparison.primary
    return _titled(figure, f"Extra cost against {primary} closed",
                   f"against {comparison.reference}; closed: minus the paired difference in the final year",
                   f"extra cost over {comparison.reference}, mean per year (USD)",
                   f"{primary} closed ({unit(primary)})")


def winners_losers(comparison: Comparison, subject: str = "reading") -> go.Figure | None:
    """The share of each group's pupils who end above (winners) or below (losers) their own score under the
    reference, per scenario: an average gain can hide losers. None without another scenario."""
    if subject not in SUBJECTS:
        raise ValueError(f"subject must be one of {', '.join(SUBJECTS)} (got {subject!r})")
    if comparison.differences().empty:
        return None
    table = comparison.winners_losers().reset_index()
    table = table[table.subject == subject]
    figure = go.Figure()
    for scenario, point, label, colour in series(comparison):
        for share, pattern in (("winners", ""), ("losers", "/")):
            rows = _rows(table[table.share == share], scenario, point)
            if not rows.empty:
                figure.add_trace(go.Bar(x=[list(rows.group_kind), list(rows.group)], y=rows["mean"],
                                        name=f"{label}: {share}", error_y=_error(rows),
                                        marker={"color": colour, "pattern": {"shape": pattern}}))
    figure.update_layout(barmode="group")
    return _titled(figure, f"Winners and losers in {subject}",
                   f"pupils more than {comparison.plan.threshold_sd} SD above (winners) or below (losers) their score "
                   f"under {comparison.reference} on the same seed; bars: 95% interval",
                   "group", "pupils (share of the group)")


def sensitivity(comparison: Comparison, outcome: str | None = None,
                indices: pd.DataFrame | None = None) -> go.Figure | None:
    """Which design parameters move ``outcome`` (default: the primary one) in the final year: Sobol total and
    first-order indices, or Morris mu*, with their 95% confidence. None without a Sobol or Morris design.

    ``indices``: ``comparison.sensitivity()`` if already computed, as the analysis of every outcome is slow."""
    outcome = outcome or comparison.primary
    table = comparison.sensitivity() if indices is None else indices
    if table.empty:
        return None
    table = table[(table.outcome == outcome) & table["index"].isin(("ST", "S1", "mu_star"))]
    if table.empty:
        return None
    figure = go.Figure()
    several = table.scenario.nunique() > 1
    for (scenario, index), rows in table.groupby(["scenario", "index"], sort=False):
        figure.add_trace(go.Bar(x=rows.value, y=rows.parameter, orientation="h",
                                name=f"{scenario}: {index}" if several else index,
                                error_x={"type": "data", "array": rows.conf, "visible": True}))
    morris = comparison.plan.design.method == "morris"
    axis = (f"Morris mu*: mean absolute effect ({unit(outcome)} per parameter's full range)" if morris
            else "Sobol index (share of the variance)")
    figure.update_layout(barmode="group", height=max(400, 150 + 30 * table.parameter.nunique() * len(figure.data)))
    return _titled(figure, f"Sensitivity of {outcome}", "final year, mean over replicates at each design point; "
                   "bars: 95% confidence", axis, "parameter")


def neighborhood_values(comparison: Comparison, scenario: str, measure: str) -> pd.Series:
    """One of :data:`MAP_MEASURES` per neighborhood, in the final year, mean over the scenario's replicates (point
    0). Cost is each programme's cost per child served times the neighborhood's enrolments."""
    if measure not in MAP_MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MAP_MEASURES)} (got {measure!r})")
    if measure == "change":
        return (_mean_over_runs(comparison, scenario, "score")
                - _mean_over_runs(comparison, comparison.reference, "score")).rename(measure)
    return _mean_over_runs(comparison, scenario, measure)


def neighborhood_map(comparison: Comparison, scenario: str, measure: str = "gap") -> go.Figure:
    """The city's neighborhoods at their map positions, joined by the travel network, coloured by ``measure``;
    hovering a neighborhood gives its value, its share of the children, its schools and providers."""
    city = comparison.plan.city
    values = neighborhood_values(comparison, scenario, measure)
    where = {hood.name: (hood.x_km, hood.y_km) for hood in city.neighborhoods}
    edges_x, edges_y = [], []
    for edge in city.edges:
        edges_x += [where[edge.a][0], where[edge.b][0], None]
        edges_y += [where[edge.a][1], where[edge.b][1], None]
    names = [hood.name for hood in city.neighborhoods]
    title, measure_unit = MAP_MEASURES[measure]
    schools = {name: ", ".join(s.name for s in city.schools if s.neighborhood == name) or "none" for name in where}
    providers = {name: ", ".join(f"{p.name} ({p.type})" for p in city.providers if p.neighborhood == name) or "none"
                 for name in where}
    details = [f"<b>{hood.name}</b><br>{title}: {values.get(hood.name, float('nan')):,.3f} {measure_unit}"
               f"<br>children: {hood.population_share:.1%} of the city<br>schools: {schools[hood.name]}"
               f"<br>providers: {providers[hood.name]}" for hood in city.neighborhoods]
    figure = go.Figure([
        go.Scatter(x=edges_x, y=edges_y, mode="lines", line={"color": "lightgrey", "width": 1}, hoverinfo="skip",
                   showlegend=False),
        go.Scatter(x=[where[n][0] for n in names], y=[where[n][1] for n in names], mode="markers+text",
                   text=names, textposition="top center", hovertext=details, hoverinfo="text", showlegend=False,
                   marker={"size": [12 + 60 * hood.population_share for hood in city.neighborhoods],
                           "color": [values.get(n, float("nan")) for n in names], "colorscale": "RdYlBu_r",
                           "showscale": True, "colorbar": {"title": measure_unit},
                           "line": {"color": "black", "width": 1}})])
    figure.update_yaxes(scaleanchor="x", scaleratio=1)
    return _titled(figure, f"{city.name}: {title}", f"{scenario}, final year, mean over replicates; "
                   "marker size: share of the children", "km east", "km north")


# --- helpers --------------------------------------------------------------------------------------------------
def _mean_over_runs(comparison: Comparison, scenario: str, measure: str) -> pd.Series:
    per_run = [_neighborhood_measure(comparison.store.outcomes(spec.run_id), measure)
               for spec in comparison.plan.runs
               if spec.scenario == scenario and spec.point == 0 and comparison.store.done(spec.run_id)]
    if not per_run:
        raise ValueError(f"{scenario!r} has no finished runs in this comparison")
    return pd.concat(per_run, axis=1).mean(axis=1).rename(measure)


def _neighborhood_measure(outcomes: pd.DataFrame, measure: str) -> pd.Series:
    """One run's ``measure`` by neighborhood in its final year (``neighborhood_values``); "score" is the mean of
    reading and math."""
    final = outcomes[outcomes.year == outcomes.year.max()]
    hoods = final[(final.group_kind == "neighborhood") & (final.grade == GRADE_ALL)]
    metric = hoods.metric.astype(str)
    by_hood = hoods.assign(group=hoods.group.astype(str))
    subjects = ["reading_mean", "math_mean"]
    if measure in ("score", "gap"):
        score = by_hood[metric.isin(subjects)].groupby("group")["value"].mean()
        if measure == "score":
            return score
        every = final[(final.group_kind == "all") & (final.grade == GRADE_ALL) & final.metric.isin(subjects)]
        return every.value.mean() - score
    if measure == "unmet_needs":
        rates = by_hood[metric.str.startswith("unmet_") & metric.str.endswith("_rate")]
        return 100 * rates.groupby("group")["value"].sum()
    suffix = "_waitlisted" if measure == "waitlist" else "_enrolled"
    counts = by_hood[metric.str.endswith(suffix)].assign(programme=metric.str.removesuffix(suffix))
    if measure != "cost":
        return counts.groupby("group")["value"].sum()
    per_child = final[(final.group_kind == "programme") & (final.metric == "cost_per_child_served_usd")]
    price = per_child.assign(group=per_child.group.astype(str)).set_index("group")["value"]
    return (counts.value * counts.programme.map(price).fillna(0.0)).groupby(counts.group).sum()


def _outcome_rows(table: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """One outcome's rows of an estimates or differences table, flat; an outcome the runs lack is an error."""
    table = table.reset_index()
    if outcome not in set(table.outcome):
        raise ValueError(f"{outcome!r} is not an outcome of this experiment ({', '.join(sorted(set(table.outcome)))})")
    return table[table.outcome == outcome]


def _rows(table: pd.DataFrame, scenario: str, point: int) -> pd.DataFrame:
    return table[(table.scenario == scenario) & (table.point == point)]


def _error(rows: pd.DataFrame) -> dict:
    """Asymmetric error bars from a table's 95% interval (none where it is unknown, with one replicate)."""
    return {"type": "data", "array": rows.ci_high - rows["mean"], "arrayminus": rows["mean"] - rows.ci_low,
            "visible": True}


def _option(comparison: Comparison, row: dict, names: list[str]) -> str:
    """Hover text of a frontier point: its scenario and point, and the design's values where the design varies it."""
    text = row["scenario"] + (f", point {row['point']}" if len(comparison.plan.points(row["scenario"])) > 1 else "")
    if row["scenario"] in comparison.plan.designed:
        text += "".join(f"<br>{name} = {row[name]:.4g}" for name in names)
    return text


def _faded(colour: str) -> str:
    red, green, blue = hex_to_rgb(colour)
    return f"rgba({red}, {green}, {blue}, 0.2)"


def _titled(figure: go.Figure, title: str, note: str, x: str, y: str) -> go.Figure:
    return figure.update_layout(title={"text": f"{title}<br><sup>{note}</sup>"}, xaxis_title=x, yaxis_title=y,
                                template="plotly_white", hovermode="closest")
