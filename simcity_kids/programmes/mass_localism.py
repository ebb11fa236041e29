"""Community-designed programmes, 'mass localism' (MODEL_SPEC section 4): many small neighborhood programmes of
uncertain effect, funded in a first round, evaluated on the city's own test scores, the best scaled up.

First round (from ``start_year``, for ``evaluation_years``): the city gives ``n_programmes`` grants, as many as
the budget allows. Each programme is designed by a group in one neighborhood (drawn by population share) and
serves up to ``slots_per_programme`` children of one age band there; its grant is those slots times
``cost_per_slot_usd``. Each programme has a true effect, in SD per school year of participation, drawn once
(see :func:`true_effects`). An enrolled child gets a tenth of it in every school month through
``Learning.add_boost``, like after-school and mentoring: it adds up while the child takes part, and once the child
leaves, part of it persists and part fades (MODEL_SPEC 3.5). The effects found in studies are measured at the end
of a programme, which is what a participant has while enrolled.

Places: each September the programmes' slots are the capacity of their neighborhood. Families learn of the
programmes like of any other (awareness over social ties) and apply with the base's take-up chance at local
travel time; a family tries up to ``MAX_CHOICES`` of the programmes in its neighborhood that serve the child's
age, in an order of its own, and slots go in the waitlist order (``Programme.priority``). A child keeps a slot
from year to year while the programme serves its age and neighborhood.

Evaluation: after ``evaluation_years`` the city compares the children enrolled in a programme in its first
September (and in no other one since) with the children of the same neighborhood and age band who were eligible
then and never enrolled in any of these programmes: the difference in their mean change in test score (mean of
reading and math, each with test error) from that September to the last June, divided by the participants' mean
school years enrolled (a dose adjustment: some age out of the band). A change score rather than a regression on
the starting score, because test error in the starting score biases such a regression towards the participants'
starting level. The estimate is noisy, most for small programmes, so the programmes picked for their high
estimates were on average luckier than they were good (the winner's curse), which the outcomes table shows.

Scale-up: from then on, the ``scale_up_count`` programmes with the highest estimates get the budget: slots in
every neighborhood, for ``coverage`` of the eligible children of their age bands (phased in over
``phase_in_years``), split in proportion to those children; the other programmes end. At scale a programme
keeps ``scaled_effect_share`` of its effect (effects found in large trials are smaller than in small ones).

Outcomes (``group_kind = "mass_localism"``, ``group`` = programme id such as "P07"): ``localism_slots`` each
September; at the evaluation ``localism_true_effect``, ``localism_estimated_effect`` (when estimable),
``localism_participants`` and ``localism_scaled`` per programme, and the mean true and estimated effect of the
programmes with an estimate (group "evaluated") and of those scaled up (group "scaled").
"""

from __future__ import annotations

from math import log
from typing import TYPE_CHECKING

import numpy as np
from pydantic import model_validator
from scipy.special import ndtri

from ..core.allocation import allocate
from ..core.calendar import LEAVING_AGE, SCHOOL_MONTHS_PER_YEAR, SEPTEMBER, SUMMER_MONTHS
from ..core.params import LEVER, param
from ..core.quota import largest_remainder
from ..core.validation import InvalidAt
from . import register
from .base import APPLIED, ELIGIBLE, ENROLLED, MAX_CHOICES, WAITED, Programme, ProgrammeConfig

if TYPE_CHECKING:
    from ..model import CityModel

AGES = LEAVING_AGE  # ages 0-17 index the neighborhood x age cells
Z70 = float(ndtri(0.7))  # standard normal 70th percentile
MAX_EFFECT = 1.0  # SD per school year: drawn effects are clipped to +-1 (assumption: far beyond any found)
KEEP_FIRST = -100.0  # priority offset that puts a child keeping last year's slot before every applicant
SWITCHED = -2  # ``localism_first`` of a participant who moved to another programme during the first round


class MassLocalismConfig(ProgrammeConfig):
    coverage: float = param(
        0.0, "share of the eligible children of the scaled programmes' age bands offered a slot after the "
        "scale-up, at full phase-in; 0 funds nothing, the first round neither", LEVER, ge=0, le=1)
    budget_usd: float | None = param(
        None, "USD per school year at most, for the first round's grants and then for the scaled programmes' "
        "slots; none: what n_programmes grants and then coverage need", LEVER, ge=0, le=1e11)
    phase_in_years: int = param(1, "years from the scale-up until the scaled programmes reach full coverage",
                                LEVER, ge=1, le=20)
    min_age: int = param(5, "years", "MODEL_SPEC section 3.2: the effect comes in school months, so pupils only "
                         "(kindergarten at 5)", ge=5, le=17)
    max_age: int = param(17, "years", "MODEL_SPEC section 3.2: pupils up to grade 12", ge=5, le=17)
    cost_per_slot_usd: float = param(
        1489.0, "USD (2016) per child and school year", "EVIDENCE.md costs: WSIPP 763, school-based mentoring "
        "1,489 (2016); assumption: a small community-run programme costs about as much per child", ge=0,
        le=100_000)
    n_programmes: int = param(20, "grants in the first round", "assumption: a round of neighborhood grants in "
                              "a city of Salem's size; 0 funds nothing", ge=0, le=1000)
    slots_per_programme: int = param(25, "children a first-round programme serves at most (whole city)",
                                     "assumption: one or two groups the size of a class", ge=1, le=10_000)
    band_years: int = param(4, "years of age a programme serves", "assumption: about one school stage, such as "
                            "grades K-3", ge=1, le=13)
    evaluation_years: int = param(2, "school years of the first round before the city evaluates and scales up",
                                  LEVER, ge=1, le=10)
    scale_up_count: int = param(3, "programmes scaled up after the evaluation (highest estimates)", LEVER,
                                ge=0, le=50)
    effect_p30: float = param(0.02, "SD, 30th percentile of published effects", "EVIDENCE_PROGRAMMES.md "
                              "section 10: Kraft 2023, 973 studies, 30th percentile 0.02", ge=-0.5, le=1)
    effect_p50: float = param(0.10, "SD, median of published effects", "EVIDENCE_PROGRAMMES.md section 10: "
                              "Kraft 2023, median 0.10 (Kraft 2020: 0.10 over about 750 RCTs)", ge=-0.5, le=1)
    effect_p70: float = param(0.21, "SD, 70th percentile of published effects", "EVIDENCE_PROGRAMMES.md "
                              "section 10: Kraft 2023, 70th percentile 0.21", ge=-0.5, le=1)
    effect_inflation: float = param(
        2.0, "times: published effects over the true effects of community programmes on independent tests",
        "EVIDENCE_PROGRAMMES.md section 10: Cheung & Slavin 2016, effects about 2x larger in published studies "
        "and on experimenter-made measures", ge=1, le=10)
    scaled_effect_share: float = param(
        0.6, "share of a programme's effect kept when it is scaled up citywide",
        "derived from EVIDENCE_PROGRAMMES.md section 10: large commissioned RCTs average 0.06 SD (Lortie-Forgues "
        "& Inglis 2019) against a median of 0.10 over all RCTs (Kraft 2023)", ge=0, le=1)
    test_error_sd: float = param(
        0.3, "SD of a test score's measurement error, per subject and test",
        "assumption: state tests' reliability is about 0.9, an error variance of about 0.1 of the score's; "
        "the model's scores have none, and the city evaluates with tests", ge=0, le=2)

    @model_validator(mode="after")
    def _right_skewed(self) -> MassLocalismConfig:
        """The shifted log-normal through the three percentiles needs them increasing and skewed to the right."""
        low, high = self.effect_p50 - self.effect_p30, self.effect_p70 - self.effect_p50
        if low < 0.001:
            raise InvalidAt("effect_p50", f"must exceed effect_p30 ({self.effect_p30:g}) by at least 0.001 "
                            f"(got {self.effect_p50:g})")
        if not high > low:
            raise InvalidAt("effect_p70", f"effect_p70 - effect_p50 must exceed effect_p50 - effect_p30 "
                            f"({low:g}; got {high:g}): effects are skewed to the right")
        return self


def effect_distribution(config: MassLocalismConfig) -> tuple[float, float, float]:
    """(mu, sigma, shift) of the true effects: ``exp(mu + sigma Z) - shift``, Z standard normal.

    The shifted log-normal that passes through Kraft's (2023) 30th, 50th and 70th percentiles (it also gives 38%
    below 0.05 SD, against his 36%), divided by the inflation of published effects (Cheung & Slavin 2016). Kraft's
    figures are estimates, whose sampling error widens the spread; so the defaults give true effects with median
    0.05, mean about 0.08 and SD about 0.12 SD per school year, half below 0.05 and a quarter below 0: most near
    zero, a few large (compare the mean of 0.06 of large commissioned RCTs, Lortie-Forgues & Inglis 2019)."""
    c = config
    ratio = (c.effect_p70 - c.effect_p50) / (c.effect_p50 - c.effect_p30)  # e^(sigma z70)
    scale = (c.effect_p70 - c.effect_p50) / (ratio - 1.0)  # e^mu, the median plus the shift
    return log(scale / c.effect_inflation), log(ratio) / Z70, (scale - c.effect_p50) / c.effect_inflation


def true_effects(config: MassLocalismConfig, z: np.ndarray) -> np.ndarray:
    """True effects (SD per school year) for standard normal draws ``z``, clipped to +-MAX_EFFECT."""
    mu, sigma, shift = effect_distribution(config)
    exponent = np.minimum(mu + sigma * np.asarray(z, dtype=np.float64), log(MAX_EFFECT + shift))
    return np.clip(np.exp(exponent) - shift, -MAX_EFFECT, MAX_EFFECT)


def by_cell(model: CityModel, flags: np.ndarray, weights: np.ndarray | None = None,
            cell: np.ndarray | None = None) -> np.ndarray:
    """Sums of ``weights`` (or counts) over the flagged children, by neighborhood and age: (hoods, ages).
    ``cell`` (neighborhood x AGES + age) defaults to the children's present cells."""
    children = model.children
    if cell is None:
        cell = children.neighborhood.astype(np.int64) * AGES + children.age
    sums = np.bincount(cell[flags], None if weights is None else weights[flags],
                       minlength=len(model.city.neighborhoods) * AGES)
    return sums.reshape(-1, AGES)


def band_sums(table: np.ndarray, hood: np.ndarray, band: np.ndarray) -> np.ndarray:
    """Sums of a (hoods, ages) table over the ages ``band[:, 0]``-``band[:, 1]`` in neighborhoods ``hood``."""
    cumulative = np.concatenate([np.zeros((table.shape[0], 1)), np.cumsum(table, axis=1)], axis=1)
    return cumulative[hood, band[:, 1] + 1] - cumulative[hood, band[:, 0]]


@register
class MassLocalism(Programme):
    name = "mass_localism"
    config_class = MassLocalismConfig
    config: MassLocalismConfig

    def __init__(self, model: CityModel, config: MassLocalismConfig):
        super().__init__(model, config)
        children = model.children
        children.define("localism_programme", np.int16, fill=-1)  # this year's programme, kept over the summer
        children.define("localism_first", np.int16, fill=-1)  # programme in the first September, or SWITCHED
        children.define("localism_cohort", np.int16, fill=-1)  # neighborhood x age cell if eligible then
        children.define("localism_baseline", np.float32)  # test score in the first September
        children.define("localism_months", np.int16)  # school months enrolled during the first round
        n = config.n_programmes
        self.hood = np.zeros(n, dtype=np.int64)
        self.band = np.zeros((n, 2), dtype=np.int64)  # youngest and oldest age served
        self.true_effect = np.zeros(n)
        self.estimate = np.full(n, np.nan)
        self.scaled = np.zeros(n, dtype=bool)
        self.labels = [f"P{k + 1:0{len(str(n))}d}" for k in range(n)]

    @property
    def funds_anything(self) -> bool:
        return super().funds_anything and self.config.n_programmes > 0

    # --- the month --------------------------------------------------------------------------------------------
    def step(self, model: CityModel) -> None:
        year = model.school_year - self.config.start_year
        if not self.funds_anything or year < 0:
            return
        if model.calendar_month == SEPTEMBER:
            if year == 0:
                self.design(model)
            if year == self.config.evaluation_years:
                self.evaluate(model)
            evaluating = year < self.config.evaluation_years
            self.place(model, *(self.first_round(model) if evaluating else self.scale_up(model)))
            if year == 0:
                self.start_evaluation(model)
            elif evaluating:
                self.drop_switchers(model)
        elif model.calendar_month == SUMMER_MONTHS[0]:
            self.end_season(model)
        if model.is_school_month:
            self.grow(model, evaluating=year < self.config.evaluation_years)

    def design(self, model: CityModel) -> None:
        """Each group's neighborhood (by population share, among those with eligible children), age band and
        true effect, drawn once."""
        c, n = self.config, self.config.n_programmes
        shares = np.array([h.population_share for h in model.city.neighborhoods])
        has_eligible = np.bincount(model.children.neighborhood[self.eligible(model)], minlength=shares.size) > 0
        shares = shares * has_eligible if has_eligible.any() else shares
        draw = model.streams(f"{self.name}.neighborhood", model.month).random(n)
        self.hood = np.minimum(np.searchsorted(np.cumsum(shares / shares.sum()), draw, side="right"), shares.size - 1)
        width = min(c.band_years, c.max_age - c.min_age + 1)
        youngest = c.min_age + (model.streams(f"{self.name}.age_band", model.month).random(n)
                                * (c.max_age - c.min_age + 2 - width)).astype(np.int64)
        self.band = np.stack([youngest, youngest + width - 1], axis=1)
        self.true_effect = true_effects(c, model.streams(f"{self.name}.effect", model.month).standard_normal(n))

    # --- slots --------------------------------------------------------------------------------------------------
    def first_round(self, model: CityModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The funded grants' sites: (programme, neighborhood, slots). A grant is a unit of the base's funding
        (funding factor, budget cap, cost); its cost is divided by the child weight because grants are not
        scaled with the simulated population, only their slots are."""
        c = self.config
        grant = c.slots_per_programme * c.cost_per_slot_usd
        funded = self.funded_units(model, c.n_programmes, grant / model.child_weight)
        slots = int(round(c.slots_per_programme / model.child_weight))
        programmes = np.arange(min(funded, c.n_programmes))
        return programmes, self.hood[programmes], np.full(programmes.size, slots, dtype=np.int64)

    def scale_up(self, model: CityModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The scaled programmes' sites: slots for coverage of the eligible children of their age bands, in
        every neighborhood in proportion to those children."""
        winners = np.flatnonzero(self.scaled)
        children = model.children
        eligible = self.eligible(model)
        hoods = np.arange(len(model.city.neighborhoods))
        per_site = band_sums(by_cell(model, eligible), hoods[None, :], self.band[winners][:, :, None])
        served = np.zeros(AGES, dtype=bool)
        for youngest, oldest in self.band[winners]:
            served[youngest:oldest + 1] = True
        wanted = self.config.coverage * self.phase(model.school_year - self.config.evaluation_years) * int(
            np.count_nonzero(eligible & served[children.age]))
        funded = self.funded_units(model, wanted, self.config.cost_per_slot_usd)
        slots = largest_remainder(per_site.ravel(), funded).reshape(per_site.shape)
        programme, hood = np.nonzero(slots)
        return winners[programme], hood, slots[programme, hood]

    def place(self, model: CityModel, programme: np.ndarray, hood: np.ndarray, slots: np.ndarray) -> None:
        """Fill the sites' slots: children keeping last year's slot first, then applicants in waitlist order,
        each trying up to MAX_CHOICES of the sites in its neighborhood that serve its age."""
        children = model.children
        self.record_slots(model, programme, slots)
        current = children.localism_programme
        previous = current.copy()
        current[:] = -1
        if programme.size == 0:
            return
        table, count, site_of = self.site_table(model, programme, hood)
        none = programme.size
        child_cell = children.neighborhood.astype(np.int64) * AGES + children.age
        eligible = self.eligible(model) & (count[child_cell] > 0)
        reach = getattr(children, self.reach)
        reach |= eligible.view(np.uint8) * np.uint8(ELIGIBLE)
        keeping = eligible & (previous >= 0)  # last year's programme still runs here and serves the child's age
        kept_band, kept_age = self.band[previous[keeping]], children.age[keeping]
        keeping[keeping] = ((site_of[previous[keeping], children.neighborhood[keeping]] < none)
                            & (kept_band[:, 0] <= kept_age) & (kept_age <= kept_band[:, 1]))
        applying = np.zeros(len(children), dtype=bool)
        applying[self.applicants(model, eligible)] = True
        applicants = np.flatnonzero(applying | keeping)

        cells = child_cell[applicants]
        tries = min(MAX_CHOICES, table.shape[1])
        start = (model.streams(f"{self.name}.choice_order", model.month).random(len(children))[applicants]
                 * count[cells]).astype(np.int64)
        column = (start[:, None] + np.arange(tries)) % count[cells][:, None]
        choices = np.where(np.arange(tries) < count[cells][:, None], table[cells[:, None], column], none)
        kept = np.where(keeping[applicants], site_of[np.maximum(previous[applicants], 0),
                                                     children.neighborhood[applicants]], none)
        priority = self.priority(model, applicants) + KEEP_FIRST * keeping[applicants]
        placed = allocate(np.column_stack([kept, choices]), priority, np.append(slots, 0))
        enrolled = applicants[placed >= 0]
        reach[applicants] |= np.uint8(APPLIED)
        reach[applicants[placed < 0]] |= np.uint8(WAITED)
        reach[enrolled] |= np.uint8(ENROLLED)
        current[enrolled] = programme[placed[placed >= 0]]
        getattr(children, self.enrolled)[enrolled] = True
        getattr(children, self.referred)[enrolled] = False

    def site_table(self, model: CityModel, programme: np.ndarray,
                   hood: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The sites serving each neighborhood x age cell (a row each, padded with ``none``, the index after the
        last site, which has no slots), how many there are, and each programme's site in each neighborhood."""
        n_hoods, none = len(model.city.neighborhoods), programme.size
        ages = np.arange(AGES)
        covers = (ages >= self.band[programme, :1]) & (ages <= self.band[programme, 1:])  # (sites, ages)
        site, age = np.nonzero(covers)
        cell = hood[site] * AGES + age
        order = np.argsort(cell, kind="stable")
        site, cell = site[order], cell[order]
        count = np.bincount(cell, minlength=n_hoods * AGES)
        rank = np.arange(cell.size) - (np.cumsum(count) - count)[cell]
        table = np.full((n_hoods * AGES, max(int(count.max()), 1)), none, dtype=np.int64)
        table[cell, rank] = site
        site_of = np.full((self.config.n_programmes, n_hoods), none, dtype=np.int64)
        site_of[programme, hood] = np.arange(programme.size)
        return table, count, site_of

    def record_slots(self, model: CityModel, programme: np.ndarray, slots: np.ndarray) -> None:
        """Each running programme's slots this school year (whole city)."""
        total = np.bincount(programme, weights=slots, minlength=self.config.n_programmes) * model.child_weight
        for k in np.unique(programme):
            model.outcomes.add_value(model, "localism_slots", self.name, self.labels[k], float(total[k]))

    def grow(self, model: CityModel, evaluating: bool) -> None:
        """One school month of each enrolled child's programme effect (sustaining the child's earlier boosts, as
        any programme does); months enrolled count for the evaluation."""
        children = model.children
        enrolled = np.flatnonzero(getattr(children, self.enrolled))
        if enrolled.size == 0:
            return
        at_scale = 1.0 if evaluating else self.config.scaled_effect_share
        effect = (self.true_effect[children.localism_programme[enrolled]] * at_scale
                  / SCHOOL_MONTHS_PER_YEAR).astype(np.float32)
        model.learning.add_boost(model, effect, effect, idx=enrolled)
        if evaluating:
            children.localism_months[enrolled] += 1

    # --- evaluation -------------------------------------------------------------------------------------------
    def test_score(self, model: CityModel, reading: np.ndarray, math: np.ndarray) -> np.ndarray:
        """Mean of reading and math as this month's tests measure them: the scores plus test error."""
        error = model.streams(f"{self.name}.test_error", model.month).standard_normal((2, len(model.children)))
        return (reading + math + np.float32(self.config.test_error_sd) * error.sum(axis=0)) / 2

    def start_evaluation(self, model: CityModel) -> None:
        """In the first September: who is in which programme, the eligible children's cells and test scores."""
        children = model.children
        eligible = self.eligible(model)
        children.localism_first = children.localism_programme
        children.localism_cohort = np.where(eligible, children.neighborhood.astype(np.int64) * AGES + children.age, -1)
        children.localism_baseline = self.test_score(model, *model.learning.observed(model))

    def drop_switchers(self, model: CityModel) -> None:
        """Participants now in another programme (having aged out of their band) leave the evaluation: their
        change would mix two programmes' effects."""
        children = model.children
        first, now = children.localism_first, children.localism_programme
        first[(first >= 0) & (now >= 0) & (now != first)] = SWITCHED

    def evaluate(self, model: CityModel) -> None:
        """Estimate each programme's effect from the change in test scores up to last June, pick the winners
        and record what the city saw against the truth."""
        children, n = model.children, self.config.n_programmes
        change = self.test_score(model, children.june_reading, children.june_math) - children.localism_baseline
        first, cohort = children.localism_first, children.localism_cohort
        part = first >= 0
        n_part = np.bincount(first[part], minlength=n)
        part_change = np.bincount(first[part], weights=change[part], minlength=n)
        years = np.bincount(first[part], weights=children.localism_months[part], minlength=n) / SCHOOL_MONTHS_PER_YEAR
        comparison = (cohort >= 0) & (children.localism_months == 0)
        n_comp = band_sums(by_cell(model, comparison, cell=cohort), self.hood, self.band)
        comp_change = band_sums(by_cell(model, comparison, change, cell=cohort), self.hood, self.band)
        estimable = (n_part > 0) & (n_comp > 0) & (years > 0)
        difference = part_change / np.maximum(n_part, 1) - comp_change / np.maximum(n_comp, 1)
        dose = years / np.maximum(n_part, 1)  # participants' mean school years enrolled
        self.estimate = np.divide(difference, dose, out=np.full(n, np.nan), where=estimable)
        ranked = np.flatnonzero(estimable)[np.argsort(-self.estimate[estimable], kind="stable")]
        self.scaled[ranked[:self.config.scale_up_count]] = True
        self.record_evaluation(model, n_part, estimable)

    def record_evaluation(self, model: CityModel, n_part: np.ndarray, estimable: np.ndarray) -> None:
        """Per programme: true and estimated effect, participants evaluated (whole city), scaled or not; and the
        means over the evaluated and over the scaled programmes (the winner's curse: estimated above true)."""
        add = model.outcomes.add_value
        for k, label in enumerate(self.labels):
            add(model, "localism_true_effect", self.name, label, float(self.true_effect[k]))
            if estimable[k]:
                add(model, "localism_estimated_effect", self.name, label, float(self.estimate[k]))
            add(model, "localism_participants", self.name, label, float(n_part[k] * model.child_weight))
            add(model, "localism_scaled", self.name, label, float(self.scaled[k]))
        for group, chosen in (("evaluated", estimable), ("scaled", self.scaled)):
            if chosen.any():
                add(model, "localism_true_effect", self.name, group, float(self.true_effect[chosen].mean()))
                add(model, "localism_estimated_effect", self.name, group, float(self.estimate[chosen].mean()))
