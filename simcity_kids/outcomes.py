"""Outcomes (MODEL_SPEC section 5): one tidy table per run, and a monthly trace of the main gaps.

Columns: year, grade, group_kind, group, metric, value. ``grade`` is "K", "1" ... "12" or "all".
Every breakdown goes through one group-by (:meth:`Outcomes._grouped`): counting passes with
``np.bincount`` over (grade, group) codes, no pandas until the run ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .city.profile import RACES
from .core.calendar import AUGUST, JUNE, SEPTEMBER
from .core.params import Params, param
from .core.calendar import SCHOOL_AGES

if TYPE_CHECKING:
    from .model import CityModel

GRADES: tuple[str, ...] = ("K", *(str(g) for g in range(1, 13)))
GRADE_ALL = "all"
COLUMNS = ("year", "grade", "group_kind", "group", "metric", "value")
# The citywide rates a summary shows (``RunResult.summary``, an experiment's default outcomes).
SUMMARY_RATES = ("kindergarten_readiness_rate", "grade3_reading_proficiency", "chronic_absence_rate",
                 "graduation_rate", "college_enrolment_rate")
# (group kind, higher group, lower group): the gaps of MODEL_SPEC section 5
GAPS: tuple[tuple[str, str, str], ...] = (
    ("income_quintile", "Q5", "Q1"),
    ("disadvantaged", "not_disadvantaged", "disadvantaged"),
    ("race", "white", "black"),
    ("race", "white", "latino"),
    ("english_learner", "not_english_learner", "english_learner"),
)


class OutcomesParams(Params):
    ready_threshold: float = param(-0.5, "SD against the national norm, reading and math",
                                   "assumption: cut-off for 'ready for kindergarten'", ge=-3, le=3)
    proficient_cut: float = param(0.43, "SD against the national norm",
                                  "assumption: about one pupil in three reads at NAEP 'proficient'", ge=-3, le=3)


class Outcomes:
    """Records the yearly table and the monthly gap trace; other modules report counts and rates here."""

    name = "outcomes"

    def __init__(self, model: CityModel, params: OutcomesParams):
        self.params = params
        self._columns: dict[str, list] = {c: [] for c in COLUMNS}
        self._trace: list[tuple[int, int, str, float]] = []
        self._groups_month = -1
        self._contrast_version = -1
        self._contrasts: np.ndarray | None = None
        model.children.define("june_reading", np.float32)
        model.children.define("june_math", np.float32)

    # --- the one group-by -------------------------------------------------------------------------------
    def groups(self, model: CityModel, by_grade: bool = True) -> np.ndarray:
        """Each child's cell in the table (grade x) quintile x disadvantage x race x language x neighborhood.

        Built once a month; without ``by_grade`` the table has no grade axis, so tables for all grades
        together stay small in a small city."""
        if self._groups_month != model.month:
            self._kinds = group_kinds(model)
            group_cell = np.zeros(len(model.children), dtype=np.int32)  # a few thousand cells at most
            for _, labels, codes in self._kinds:
                group_cell *= len(labels)
                group_cell += codes
            self._group_shape = tuple(len(labels) for _, labels, _ in self._kinds)
            self._cells = {False: group_cell}
            self._groups_month = model.month
        if by_grade not in self._cells:  # grade x groups: only when a breakdown by grade is asked for
            self._cells[True] = _grade_index(model.children.age) * int(np.prod(self._group_shape)) + self._cells[False]
        return self._cells[by_grade]

    def _table_shape(self, by_grade: bool) -> tuple[int, ...]:
        return (13 if by_grade else 1, *self._group_shape)

    def _grouped(self, model: CityModel, values: dict[str, np.ndarray], among: np.ndarray, by_grade: bool):
        """Yield (kind, labels, grade labels, sums, counts) per breakdown: sums is a (grades, groups, metrics)
        block in the order of ``values``, counts a (grades, groups) block.

        One bincount per metric over the cross-classified table; every breakdown is a margin of it. The
        block's rows are the grades K-12 and then "all" (only "all" when ``by_grade`` is False)."""
        idx = np.flatnonzero(among)
        cell = self.groups(model, by_grade)[idx]
        shape = self._table_shape(by_grade)
        size = int(np.prod(shape))
        columns = [np.bincount(cell, minlength=size)]
        columns += [np.bincount(cell, weights=array[idx], minlength=size) for array in values.values()]
        table = np.stack(columns, axis=-1).reshape(*shape, len(columns))
        for kind, labels, grades, block in self._margins(table, by_grade):
            yield kind, labels, grades, block[..., 1:], block[..., 0]

    def _margins(self, table: np.ndarray, by_grade: bool):
        """Yield (kind, labels, grade labels, block) for each breakdown of a cross-classified table (grade,
        group axes..., metric): the block is its (grades, groups, metrics) margin."""
        *first, last = range(1, table.ndim - 1)  # the group axes; the last (neighborhoods) is the longest, so it
        without_last = table.sum(axis=last)  # is summed away once and the other breakdowns start from there
        breakdowns = [("all", ["all"], without_last, tuple(first))]
        for axis, (kind, labels, _) in zip([*first, last], self._kinds):
            source, other = (table, first) if axis == last else (without_last, [a for a in first if a != axis])
            breakdowns.append((kind, labels, source, tuple(other)))
        grades = [*GRADES, GRADE_ALL] if by_grade else [GRADE_ALL]
        for kind, labels, source, other in breakdowns:
            block = source.sum(axis=other).reshape(table.shape[0], len(labels), table.shape[-1])
            total = block.sum(axis=0, keepdims=True)
            yield kind, labels, grades, (np.concatenate([block, total]) if by_grade else total)

    def _add(self, year: int, grades: list[str], kind: str, labels: list[str], metrics: list[str],
             values: np.ndarray, present: np.ndarray) -> None:
        """Append the present cells of a (grades, groups, metrics) block of values as rows (none in the burn-in)."""
        if year < 0:
            return
        rows, cols, which = np.nonzero(present)
        n = rows.size
        self._columns["year"] += [year] * n
        self._columns["grade"] += [grades[r] for r in rows.tolist()]
        self._columns["group_kind"] += [kind] * n
        self._columns["group"] += [labels[c] for c in cols.tolist()]
        self._columns["metric"] += [metrics[m] for m in which.tolist()]
        self._columns["value"] += values[rows, cols, which].tolist()

    def mean(self, model: CityModel, values: dict[str, np.ndarray], among: np.ndarray,
             by_grade: bool = True, gaps: bool = True) -> None:
        """Group means of each metric's values among the flagged children, and their gaps (``metric_gap``)."""
        year, metrics = model.school_year, list(values)
        for kind, labels, grades, sums, counts in self._grouped(model, values, among, by_grade):
            present = np.broadcast_to((counts > 0)[..., None], sums.shape)
            means = sums / np.maximum(counts, 1)[..., None]
            self._add(year, grades, kind, labels, metrics, means, present)
            if not gaps:
                continue
            for gap_kind, high, low in GAPS:
                if gap_kind == kind:
                    hi, lo = labels.index(high), labels.index(low)
                    self._add(year, grades, kind, [f"{high}-{low}"], [f"{metric}_gap" for metric in metrics],
                              means[:, hi:hi + 1] - means[:, lo:lo + 1], present[:, hi:hi + 1] & present[:, lo:lo + 1])

    def rate(self, model: CityModel, metric: str, flags: np.ndarray, among: np.ndarray) -> None:
        """Share of the flagged children with ``flags`` set, by group (all grades together)."""
        self.mean(model, {metric: flags}, among, by_grade=False, gaps=False)

    def count_many(self, model: CityModel, flags: dict[str, np.ndarray]) -> None:
        """Numbers of children (whole city) with each metric's flags set, by group, in one pass."""
        code = np.zeros(len(model.children), dtype=np.uint8)  # which flags each child has, as bits
        for bit, flag in enumerate(flags.values()):
            code |= flag.view(np.uint8) << np.uint8(bit)
        combinations = np.arange(2 ** len(flags))
        self.count_coded(model, code, {metric: (combinations >> bit) & 1 == 1 for bit, metric in enumerate(flags)})

    def count_coded(self, model: CityModel, code: np.ndarray, metrics: dict[str, np.ndarray],
                    rows: np.ndarray | None = None) -> None:
        """Numbers of children (whole city) by group for each metric, where a metric counts the children whose
        ``code`` (a small integer per child, or per child of ``rows``; 0 = counted by none) is one it marks True:
        one bincount over (cell, code) serves every metric."""
        if rows is None:
            rows = np.flatnonzero(code)  # code 0 counts for no metric: only the others are tallied
            code = code[rows]
        cell = self.groups(model, by_grade=False)[rows]
        shape = self._table_shape(by_grade=False)
        combinations = next(iter(metrics.values())).size
        joint = np.bincount(cell * combinations + code, minlength=int(np.prod(shape)) * combinations)
        marks = np.column_stack(list(metrics.values())).astype(np.float64)
        # float64 (exact for counts below 2**53) so that the product goes to BLAS
        table = (joint.reshape(-1, combinations).astype(np.float64) @ marks).reshape(*shape, len(metrics))
        for kind, labels, grades, block in self._margins(table, by_grade=False):
            self._add(model.school_year, grades, kind, labels, list(metrics), block * model.child_weight,
                      np.ones(block.shape, dtype=bool))

    def add_value(self, model: CityModel, metric: str, group_kind: str, group: str, value: float) -> None:
        self._add(model.school_year, [GRADE_ALL], group_kind, [group], [metric], np.array([[[value]]]),
                  np.array([[[True]]]))

    # --- what is recorded when ----------------------------------------------------------------------------
    def step(self, model: CityModel) -> None:
        month = model.calendar_month
        if model.month < 0:  # the burn-in records nothing; its programmes still close each year
            if month == AUGUST:
                self.record_programmes(model)
            return
        self.trace_gaps(model)
        if month not in (SEPTEMBER, JUNE, AUGUST):
            return
        children = model.children
        reading, math = model.learning.observed(model)
        pupils = children.age >= SCHOOL_AGES[0]
        if month == SEPTEMBER:
            entrants = children.age == SCHOOL_AGES[0]
            self.mean(model, {"entry_reading_mean": reading, "entry_math_mean": math}, entrants)
            ready = np.minimum(reading, math) >= self.params.ready_threshold
            self.rate(model, "kindergarten_readiness_rate", ready, entrants)
            self.record_schools(model)
        elif month == JUNE:
            self.mean(model, {"reading_mean": reading, "math_mean": math}, pupils)
            absent = model.needs.yearly_attendance(model) < model.needs.params.chronic_absence_threshold
            self.rate(model, "chronic_absence_rate", absent, pupils)
            grade3 = children.age == SCHOOL_AGES[0] + 3
            self.rate(model, "grade3_reading_proficiency", reading >= self.params.proficient_cut, grade3)
            unmet = {f"unmet_{need}_rate": model.needs.unmet(model, need) for need in model.needs.names}
            self.mean(model, unmet, pupils, by_grade=False, gaps=False)
            children.june_reading = reading
            children.june_math = math
        elif month == AUGUST:
            stayed = pupils & (children.age < SCHOOL_AGES[1])
            self.mean(model, {"summer_change_reading": reading - children.june_reading,
                              "summer_change_math": math - children.june_math}, stayed, by_grade=False)
            self.record_programmes(model)

    TRACE_GAPS = ("Q5-Q1", "not_disadvantaged-disadvantaged")

    def trace_gaps(self, model: CityModel) -> None:
        """Monthly income-quintile and disadvantage gaps among pupils, for the summer and the dashboard.

        A gap is a contrast: weights +1/n on the higher group and -1/n on the lower one over the pupils' rows,
        fixed until the population changes, so each month costs two matrix-vector products."""
        pupils = model.population.pupil_rows(model)
        if self._contrast_version != model.population.version:
            self._contrasts = self._contrast_weights(model, pupils)
            self._contrast_version = model.population.version
        if self._contrasts is None:
            return
        reading, math = model.learning.observed(model, pupils)
        for subject, score in (("reading", reading), ("math", math)):
            for label, gap in zip(self.TRACE_GAPS, self._contrasts @ score):
                self._trace.append((model.school_year, model.calendar_month, f"{subject}_gap_{label}", float(gap)))

    @staticmethod
    def _contrast_weights(model: CityModel, pupils: slice) -> np.ndarray | None:
        quintile, disadvantaged = model.children.income_quintile[pupils], model.children.disadvantaged[pupils]
        pairs = ((quintile == 4, quintile == 0), (~disadvantaged, disadvantaged))
        weights = np.zeros((len(pairs), quintile.size), dtype=np.float32)
        for row, (high, low) in enumerate(pairs):
            n_high, n_low = int(high.sum()), int(low.sum())
            if not (n_high and n_low):
                return None
            weights[row, high] = 1.0 / n_high
            weights[row, low] = -1.0 / n_low
        return weights

    def record_schools(self, model: CityModel) -> None:
        """Each school's pupils (whole city), share economically disadvantaged and pupils beyond its seats."""
        values = np.array([[school.pupils * model.child_weight, school.share_disadvantaged,
                            school.over_capacity * model.child_weight] for school in model.schools])
        self._add(model.school_year, [GRADE_ALL], "school", [school.name for school in model.schools],
                  ["school_pupils", "school_disadvantaged_share", "school_over_capacity"], values[None],
                  np.ones((1, *values.shape), dtype=bool))

    def record_programmes(self, model: CityModel) -> None:
        """In August: each programme's reach and cost, the cabinet's, referrals, and the year's total cost."""
        for programme in model.programmes:
            programme.record_year(model)
        model.governance.record_year(model)
        model.referrals.record_year(model)
        total = sum(model.cabinet.budget_usd.values())
        self.add_value(model, "cost_usd", "programme", "total", total)

    def final_scores(self, model: CityModel) -> pd.DataFrame:
        """Each pupil's id, grade, groups and measured reading and math now (at the end of a run): two runs on the
        same seed compared child by child give the winners and losers of a scenario (stable ids)."""
        pupils = model.population.pupil_rows(model)
        children = model.children
        reading, math = model.learning.observed(model, pupils)
        frame = {"id": children.id[pupils],
                 "grade": pd.Categorical.from_codes(_grade_index(children.age[pupils]), [*GRADES])}
        for kind, labels, codes in group_kinds(model):
            frame[kind] = pd.Categorical.from_codes(codes[pupils].astype(np.int32), labels)
        frame.update(reading=reading.astype(np.float32), math=math.astype(np.float32))
        return pd.DataFrame(frame)

    # --- tables ---------------------------------------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        frame = pd.DataFrame(self._columns)
        frame["grade"] = pd.Categorical(frame["grade"], categories=[*GRADES, GRADE_ALL], ordered=True)
        for column in ("group_kind", "group", "metric"):
            frame[column] = frame[column].astype("category")
        return frame

    def trace(self) -> pd.DataFrame:
        return pd.DataFrame(self._trace, columns=["year", "month", "metric", "value"])


def group_kinds(model: CityModel) -> list[tuple[str, list[str], np.ndarray]]:
    """The breakdowns of the outcome tables: (kind, group labels, each child's group code)."""
    children = model.children
    return [
        ("income_quintile", ["Q1", "Q2", "Q3", "Q4", "Q5"], children.income_quintile),
        ("disadvantaged", ["not_disadvantaged", "disadvantaged"], children.disadvantaged),
        ("race", list(RACES), children.race),
        ("english_learner", ["not_english_learner", "english_learner"], children.english_learner),
        ("neighborhood", [n.name for n in model.city.neighborhoods], children.neighborhood),
    ]


def _grade_index(age: np.ndarray) -> np.ndarray:
    """Grade of each child by age: 0 = K ... 12 (younger children count as K, as the cell tables need a grade)."""
    return np.clip(age.astype(np.int32) - SCHOOL_AGES[0], 0, 12)
