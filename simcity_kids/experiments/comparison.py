"""Reading an experiment's store: ensemble means with 95% intervals, paired differences from the reference,
costs, winners and losers, sensitivity indices and the cost-versus-gap-closed frontier.

Replicate i of every scenario and design point ran on the same seed with the same named random streams, so a
difference is taken replicate by replicate (paired) and its interval comes from the spread of those
differences, which common random numbers make much smaller than the spread of either run. Intervals are
Student-t intervals over replicates (mean +/- t(0.975, n-1) x sd / sqrt(n)); with one replicate they are NaN.

With an uncertainty design (``DesignConfig.role``) the points are draws of parameters the city does not know:
``uncertainty`` pools them into one projection per scenario and splits its spread into seed noise and not knowing
the parameters, and ``summary`` shows the pooled projection.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import stdtrit

from ..core.validation import ConfigError
from .config import outcome_parts
from .design import sensitivity_indices
from .plan import Plan
from .store import MANIFEST, ResultsStore, read_manifest

COST = "cost_usd/total"
SERVED = "children_served"  # enrolments in every programme together (a child in two programmes counts twice)
SUBJECTS = ("reading", "math")
WINNER_GROUPS = ("all", "income_quintile", "disadvantaged", "race", "english_learner")
KEYS = ["scenario", "point", "year", "outcome"]
POOLED_KEYS = ["scenario", "year", "outcome"]  # an uncertainty design's rows: its draws (points) pooled
UNCERTAINTY_COLUMNS = ["mean", "seed_sd", "parameter_sd", "n_draws", "n_seeds", "ci_low", "ci_high", "range_low",
                       "range_high", "parameter_share"]


def _t_half_width(sd: pd.Series, n: pd.Series, df: pd.Series) -> pd.Series:
    """Half-width of the 95% Student-t interval of a mean of ``n`` values whose sd is estimated with ``df``
    degrees of freedom; NaN where there are none (one replicate)."""
    return (stdtrit(np.maximum(df, 1), 0.975) * sd / np.sqrt(n)).where(df > 0)


def interval(values: pd.core.groupby.SeriesGroupBy | pd.Series) -> pd.DataFrame:
    """Mean, standard deviation, count and 95% Student-t interval of each group of ``values``."""
    table = values.agg(["mean", "std", "count"]).rename(columns={"std": "sd", "count": "n"})
    half = _t_half_width(table["sd"], table["n"], table["n"] - 1)
    return table.assign(ci_low=table["mean"] - half, ci_high=table["mean"] + half)


def pooled_over_draws(values: pd.DataFrame) -> pd.DataFrame:
    """``values`` (columns scenario, point, year, outcome, value) pooled over an uncertainty design's draws (its
    points), their spread split by a one-way random-effects model: see :meth:`Comparison.uncertainty`."""
    draws = interval(values.groupby([*POOLED_KEYS, "point"])["value"])  # each draw's mean, sd and replicates
    by_draw = draws.groupby(level=POOLED_KEYS)
    within = (draws["sd"] ** 2).groupby(level=POOLED_KEYS).mean()  # s_w^2: the seed noise of one run
    seeds = 1 / (1 / draws["n"]).groupby(level=POOLED_KEYS).mean()  # R (harmonic mean, if some runs failed)
    of_means = by_draw["mean"].var()
    between = (of_means - within / seeds).clip(lower=0)  # s_b^2: the draw means' spread less their seed noise
    spread = (between + within / seeds).fillna(of_means)  # with one seed, the draws' spread is all there is
    mean = values.groupby(POOLED_KEYS)["value"].mean()
    seed_half = _t_half_width(np.sqrt(within), seeds, (draws["n"] - 1).groupby(level=POOLED_KEYS).sum())
    range_half = 1.96 * np.sqrt(spread)
    return pd.DataFrame({
        "mean": mean, "seed_sd": np.sqrt(within), "parameter_sd": np.sqrt(between), "n_draws": by_draw.size(),
        "n_seeds": seeds, "ci_low": mean - seed_half, "ci_high": mean + seed_half, "range_low": mean - range_half,
        "range_high": mean + range_half, "parameter_share": between / spread})


def final_year(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a table indexed by year (among other levels) in its last year, the year level dropped."""
    return table.xs(table.index.get_level_values("year").max(), level="year")


def _bracketed(table: pd.DataFrame, low: str, high: str) -> pd.Series:
    """Each row's interval as "[low, high]", or "" where it is unknown (one replicate)."""
    text = "[" + table[low].map("{:.3f}".format) + ", " + table[high].map("{:.3f}".format) + "]"
    return text.where(table[low].notna(), "").rename(None)


def _shown(table: pd.DataFrame) -> pd.Series:
    """Each row's mean and 95% interval as text: "mean [ci_low, ci_high]"."""
    bounds = _bracketed(table, "ci_low", "ci_high")
    return (table["mean"].map("{:.3f}".format) + (" " + bounds).where(bounds != "", "")).rename(None)


def outcome_rows(table: pd.DataFrame, outcomes: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """The rows of an outcomes table that :func:`extract` reads: the outcomes' metrics, the total cost and every
    programme's enrolments (a cheap filter on the categorical column, so runs are trimmed before they meet)."""
    metrics = pd.Series(table.metric.unique()).astype(str)
    wanted = {outcome_parts(name)[0] for name in [*outcomes, COST]} | set(metrics[metrics.str.endswith("_enrolled")])
    return table[table.metric.isin(wanted)]


def extract(table: pd.DataFrame, outcomes: tuple[str, ...] | list[str], by: tuple[str, ...] = ()) -> pd.DataFrame:
    """A run's outcomes of interest, its total cost and its children served, by year: columns ``by`` (columns
    that tell several runs' rows apart), year, outcome, value (an outcome missing from the table has no rows)."""
    keys = pd.DataFrame([(*outcome_parts(name), name) for name in dict.fromkeys([*outcomes, COST])],
                        columns=["metric", "group", "grade", "outcome"])
    table = outcome_rows(table, outcomes).astype({"metric": str, "group": str, "grade": str, "group_kind": str})
    chosen = table.merge(keys, on=["metric", "group", "grade"])[[*by, "year", "outcome", "value"]]
    whole = table[(table.grade == "all") & (table.group_kind == "all")]
    served = whole[whole.metric.str.endswith("_enrolled")].groupby([*by, "year"], as_index=False)["value"].sum()
    return pd.concat([chosen, served.assign(outcome=SERVED)], ignore_index=True)


class Comparison:
    """An experiment's results (a folder written by :func:`simcity_kids.experiments.run_plan`)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        manifest_path = self.folder / MANIFEST
        if not manifest_path.is_file():
            raise ConfigError(folder, "", "is not an experiment folder (no manifest.json)")
        self.manifest = read_manifest(manifest_path)
        self.plan = Plan.from_json(self.manifest["plan"], str(manifest_path))
        self.store = ResultsStore(self.folder)
        self.temporary = None  # a temporary folder that holds the results, removed with this object

    @property
    def reference(self) -> str:
        return self.plan.reference

    def runs(self) -> pd.DataFrame:
        """One row per planned run: scenario, point, replicate, seed, status (done, failed, pending) and error."""
        rows = []
        for spec in self.plan.runs:
            failure = None if self.store.done(spec.run_id) else self.store.failure(spec.run_id)
            status = "done" if self.store.done(spec.run_id) else "failed" if failure else "pending"
            rows.append({"run_id": spec.run_id, "scenario": spec.scenario, "point": spec.point,
                         "replicate": spec.replicate, "seed": spec.seed, "status": status, "error": failure})
        return pd.DataFrame(rows)

    # --- the numbers every table starts from ---------------------------------------------------------------
    @cached_property
    def values(self) -> pd.DataFrame:
        """Long table of every finished run's outcomes of interest, total cost and children served, by year."""
        frames = [outcome_rows(self.store.outcomes(spec.run_id), self.plan.outcomes).assign(
                  scenario=spec.scenario, point=spec.point, replicate=spec.replicate)
                  for spec in self.plan.runs if self.store.done(spec.run_id)]
        if not frames:
            raise ConfigError(self.folder, "", "has no finished runs yet")
        frame = extract(pd.concat(frames, ignore_index=True), self.plan.outcomes,
                        by=("scenario", "point", "replicate"))
        found = set(frame.outcome.unique())
        missing = [name for name in self.plan.outcomes if name not in found]
        if missing:
            metrics = sorted(set(self.store.outcomes(self._first_done()).metric.astype(str)))
            raise ConfigError(self.plan.source, "outcomes", f"{missing[0]!r} is not in the runs' outcomes table; "
                              f"metrics: {', '.join(metrics[:40])} ... (groups and grades as in outcomes.csv)")
        return frame

    def _first_done(self) -> str:
        return next(spec.run_id for spec in self.plan.runs if self.store.done(spec.run_id))

    def _paired(self, outcomes: list[str] | None = None) -> pd.DataFrame:
        """Each non-reference run's values beside the reference's on the same replicate (and point, when the
        reference is varied by the design too): columns value and reference."""
        values = self.values if outcomes is None else self.values[self.values.outcome.isin(outcomes)]
        reference = values[values.scenario == self.reference].drop(columns="scenario")
        others = values[values.scenario != self.reference]
        on = ["replicate", "year", "outcome"] + (["point"] if self.reference in self.plan.designed else [])
        reference = reference.rename(columns={"value": "reference"})
        if "point" not in on:
            reference = reference[reference.point == 0].drop(columns="point")
        return others.merge(reference, on=on, how="inner")

    # --- tables ---------------------------------------------------------------------------------------------
    def estimates(self) -> pd.DataFrame:
        """Per scenario, point, year and outcome: mean over replicates, sd, n and 95% interval."""
        return interval(self.values.groupby(KEYS)["value"])

    def differences(self) -> pd.DataFrame:
        """Per non-reference scenario, point, year and outcome: the paired difference from the reference
        (scenario minus reference, replicate by replicate) with its 95% interval, and the interval the same runs
        would give unpaired (Welch), for comparison."""
        return self._differences.copy()

    @cached_property
    def _differences(self) -> pd.DataFrame:
        """``differences``, computed once: the summary, costs, frontier and figures all start from it."""
        paired = self._paired()
        table = interval(paired.assign(difference=paired.value - paired.reference).groupby(KEYS)["difference"])
        groups = paired.groupby(KEYS)
        var_s, var_r = groups["value"].var(), groups["reference"].var()
        n = groups["value"].count()
        se = np.sqrt(var_s / n + var_r / n)
        df = se**4 / ((var_s / n) ** 2 / (n - 1) + (var_r / n) ** 2 / (n - 1))
        half = (stdtrit(df.fillna(1).clip(lower=1), 0.975) * se).where(n > 1)
        return table.assign(unpaired_ci_low=table["mean"] - half, unpaired_ci_high=table["mean"] + half)

    @property
    def primary(self) -> str:
        """The gap a cost is set against: the first outcome of interest that is a gap (smaller is better), or the
        first outcome if none is a gap (then "gap closed" is its fall)."""
        outcomes = [name for name in self.plan.outcomes if name != COST]
        return next((name for name in outcomes if outcome_parts(name)[0].endswith("_gap")), outcomes[0])

    def _compared(self) -> bool:
        """Whether any scenario other than the reference has finished runs."""
        return bool((self.values.scenario != self.reference).any())

    def costs(self) -> pd.DataFrame:
        """Per scenario, point and year (means over replicates with 95% intervals): total cost (USD), cost per
        child served (USD per enrolment), extra cost over the reference (USD) and the ``primary`` gap closed per
        million dollars of extra cost (-change / (extra cost / 1e6); none where nothing extra is spent).
        """
        values = self.values.pivot_table(index=["scenario", "point", "replicate", "year"], columns="outcome",
                                         values="value", observed=True)
        per_run = pd.DataFrame({"cost_usd": values[COST],
                                "cost_per_child_served_usd": values[COST] / values[SERVED].where(values[SERVED] > 0)})
        if not self._compared():
            return self._intervals_of(per_run)
        paired = self._paired([COST, self.primary]).pivot_table(
            index=["scenario", "point", "replicate", "year"], columns="outcome", values=["value", "reference"],
            observed=True)
        extra = paired[("value", COST)] - paired[("reference", COST)]
        change = paired[("value", self.primary)] - paired[("reference", self.primary)]
        per_run = per_run.join(pd.DataFrame({"extra_cost_usd": extra,
                                             "gap_closed_per_1m_usd": (-change / (extra / 1e6)).where(extra > 0)}))
        return self._intervals_of(per_run)

    @staticmethod
    def _intervals_of(per_run: pd.DataFrame) -> pd.DataFrame:
        long = per_run.reset_index().melt(id_vars=["scenario", "point", "replicate", "year"], var_name="measure")
        return interval(long.dropna(subset=["value"]).groupby(["scenario", "point", "year", "measure"])["value"])

    def winners_losers(self) -> pd.DataFrame:
        """Child by child, at the end of the run: the share of each group's pupils whose score (reading, math)
        under the scenario is above (winners) or below (losers) their own score under the reference on the same
        seed by more than ``threshold_sd``; means over replicates with 95% intervals."""
        threshold = self.plan.threshold_sd
        references = {(s.point, s.replicate): s.run_id for s in self.plan.runs if s.scenario == self.reference}
        rows = []
        for spec in self.plan.runs:
            if spec.scenario == self.reference or not self.store.done(spec.run_id):
                continue
            reference = references[(spec.point if self.reference in self.plan.designed else 0, spec.replicate)]
            if not self.store.done(reference):
                continue
            pupils = self.store.children(spec.run_id).merge(
                self.store.children(reference)[["id", *SUBJECTS]], on="id", suffixes=("", "_reference"))
            for subject in SUBJECTS:
                change = pupils[subject] - pupils[f"{subject}_reference"]
                flags = pd.DataFrame({"winners": change > threshold, "losers": change < -threshold,
                                      "all": "all", **{kind: pupils[kind] for kind in WINNER_GROUPS[1:]}})
                for kind in WINNER_GROUPS:
                    shares = flags.groupby(kind, observed=True)[["winners", "losers"]].mean()
                    for group, share in shares.iterrows():
                        rows.append({"scenario": spec.scenario, "point": spec.point, "subject": subject,
                                     "group_kind": kind, "group": str(group), "replicate": spec.replicate,
                                     "winners": share["winners"], "losers": share["losers"]})
        if not rows:
            return pd.DataFrame(columns=["mean", "sd", "n", "ci_low", "ci_high"])
        long = pd.DataFrame(rows).melt(id_vars=["scenario", "point", "subject", "group_kind", "group", "replicate"],
                                       var_name="share")
        return interval(long.groupby(["scenario", "point", "subject", "group_kind", "group", "share"],
                                     sort=False)["value"])

    def sensitivity(self) -> pd.DataFrame:
        """Sobol or Morris indices of each outcome of interest in the final year, per designed scenario: the
        outcome at each design point is its mean over replicates. Empty without a Sobol or Morris design."""
        design = self.plan.design
        if design is None or design.method not in ("sobol", "morris"):
            return pd.DataFrame()
        final = self.values[self.values.year == self.values.year.max()]
        frames = []
        for scenario in self.plan.designed:
            for outcome in self.plan.outcomes:
                means = final[(final.scenario == scenario) & (final.outcome == outcome)].groupby("point")["value"]
                outputs = means.mean().reindex(range(len(design.samples)))
                if outputs.isna().any():
                    continue  # some points have not run yet
                frames.append(sensitivity_indices(design, outputs.to_numpy()).assign(scenario=scenario,
                                                                                      outcome=outcome))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def frontier(self) -> pd.DataFrame:
        """Every scenario and point with its mean yearly extra cost over the reference (USD) and the primary
        gap's fall in the final year (``primary``; SD, mean over replicates), and whether it is on the Pareto
        front: no other option closes at least as much for no more money, and more or for less."""
        if not self._compared():
            return pd.DataFrame(columns=["extra_cost_usd", "gap_closed", "efficient"])
        costs = self.costs().xs("extra_cost_usd", level="measure")["mean"].groupby(["scenario", "point"]).mean()
        differences = self.differences()
        final = differences.index.get_level_values("year").max()
        closed = -differences.xs((final, self.primary), level=("year", "outcome"))["mean"]
        table = pd.DataFrame({"extra_cost_usd": costs, "gap_closed": closed}).dropna()
        cost, gain = table["extra_cost_usd"].to_numpy(), table["gap_closed"].to_numpy()
        dominated = [bool(np.any((cost <= c) & (gain >= g) & ((cost < c) | (gain > g)))) for c, g in zip(cost, gain)]
        table["efficient"] = ~np.array(dominated, dtype=bool)
        if self.plan.design is not None:  # the design's values, for the scenarios the design varies
            points = pd.DataFrame(self.plan.design.samples, columns=list(self.plan.design.names))
            table = table.join(points, on="point")
            varied = table.index.get_level_values("scenario").isin(self.plan.designed)
            table.loc[~varied, list(self.plan.design.names)] = np.nan
        return table.sort_values("extra_cost_usd")

    def uncertainty(self) -> pd.DataFrame:
        """With an uncertainty design (``DesignConfig.role``), each projection pooled over the parameter draws,
        its spread split into seed noise and not knowing the parameters. Rows (kind, scenario, year, outcome):
        kind "estimate" for every scenario's level, kind "difference" for each other scenario minus the
        reference, paired within the same draw and replicate. Empty (with these columns) without such a design.

        A one-way random-effects model over draws p = 1..P, each run on replicates r = 1..R:

        - mean: the mean over all runs;
        - seed_sd: s_w, where s_w^2 is the mean over draws of the variance over replicates (one run's seed noise);
        - parameter_sd: s_b, where s_b^2 = max(0, variance over draws of the draw means - s_w^2 / R): not knowing
          the parameters (a draw mean carries seed noise s_w^2 / R, which is taken off);
        - n_draws: P; n_seeds: R (the harmonic mean of the draws' replicates, should some runs have failed);
        - ci_low, ci_high: the 95% interval over seeds only, the Student-t interval a planner gets from R seeds
          at one parameter set: mean +/- t(0.975, P(R-1)) s_w / sqrt(R) (s_w is pooled over the P draws);
        - range_low, range_high: mean +/- 1.96 sqrt(s_b^2 + s_w^2 / R), the spread of a projection made with R
          seeds when the parameters are unknown;
        - parameter_share: s_b^2 / (s_b^2 + s_w^2 / R), the share of that spread from not knowing the parameters.

        With one seed s_w, s_b and the share are unknown (NaN) and the range is the draw means' spread; with one
        draw the range is unknown."""
        return self._uncertainty.copy()

    @cached_property
    def _uncertainty(self) -> pd.DataFrame:
        """``uncertainty``, computed once: the summary, the command's table and the report share it."""
        if not self.plan.pooled:
            return pd.DataFrame(columns=UNCERTAINTY_COLUMNS)
        tables = {"estimate": pooled_over_draws(self.values)}
        if self._compared():
            paired = self._paired()
            tables["difference"] = pooled_over_draws(paired.assign(value=paired.value - paired.reference))
        return pd.concat(tables, names=["kind", *POOLED_KEYS])

    def summary(self) -> pd.DataFrame:
        """The final year at a glance: each outcome's mean [95% interval] per scenario and point, and for the other
        scenarios the paired difference from the reference. With an uncertainty design the draws are pooled
        (:meth:`uncertainty`): per scenario, the mean [95% interval over seeds], the 95% range over seeds and
        parameters and the share of that range from the parameters, for the levels and the differences."""
        if self.plan.pooled:
            return self._pooled_summary()
        differences = self.differences()
        columns = {"mean [95% CI]": _shown(final_year(self.estimates()))}
        if len(differences):
            columns[f"minus {self.reference} [95% CI]"] = _shown(final_year(differences))
        return pd.DataFrame(columns).fillna("")

    def _pooled_summary(self) -> pd.DataFrame:
        """``summary`` of an uncertainty design: the draws pooled, one row per scenario and outcome."""
        final = final_year(self.uncertainty())
        columns = {}
        for kind, label in (("estimate", ""), ("difference", f"minus {self.reference}: ")):
            if kind not in final.index.get_level_values("kind"):
                continue
            rows = final.xs(kind, level="kind")
            share = rows["parameter_share"]
            columns |= {f"{label}mean [95% CI over seeds]": _shown(rows),
                        f"{label}95% range over seeds and parameters": _bracketed(rows, "range_low", "range_high"),
                        f"{label}share from parameters": share.map("{:.0%}".format).where(share.notna(), "")}
        return pd.DataFrame(columns).fillna("")
