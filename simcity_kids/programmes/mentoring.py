"""Community mobilization (MODEL_SPEC section 4): a citywide campaign recruits mentors, and youth are matched.

The city's mentoring providers offer matches anyway (their capacity); the campaign asks businesses, health care
and residents to mentor. Each September the city funds the year's campaign: enough recruited mentors for
``coverage`` of the eligible youth, at most the city's share of formal mentors per adult. Recruits arrive
month by month, closing a share of the gap to that target each month; each mentor serves ``youth_per_mentor``
youth. When funding falls, mentors are not replaced, but no running match is broken off.

Each September the families of eligible youth apply for the school year (awareness and travel time, or a
referral); free slots go in waitlist order to the nearest providers with room (``allocate``), and the others
wait at their nearest provider, whose free slots go to the head of its list month by month. A referral made
during the year puts the child on the list ahead of unreferred children of the same priority tier. A youth
whose match ends applies again the next September.

A match lasts a drawn number of months: it closes within its first year (prematurely) at the sourced rate, and
otherwise runs on to the sourced mean length; it also ends when the youth leaves the age band. While matched,
a youth gains social-emotional skill up to the full effect after a year (``children.social_emotional``, which
attendance and graduation read) and a small school-month learning boost. A match that ends before
``min_effective_months`` takes the social-emotional gain away again (Grossman & Rhodes 2002: matches of a year
or more did most good, very short ones harm; the model gives them nothing); a longer one's gain fades slowly
once it ends.

Internships (Boston PIC, about 15 students per employer) are left out: no supply per employer or per resident
outside Boston was found (EVIDENCE_PROGRAMMES.md, 'Not found').
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import model_validator

from ..core.allocation import allocate, priority_order
from ..core.calendar import SCHOOL_MONTHS_PER_YEAR, SEPTEMBER
from ..core.params import param
from ..core.quota import largest_remainder
from ..core.validation import InvalidAt
from . import register
from .base import APPLIED, ELIGIBLE, ENROLLED, WAITED, Programme, ProgrammeConfig

if TYPE_CHECKING:
    from ..model import CityModel

SECTION_8 = "EVIDENCE_PROGRAMMES.md section 8: "
# Waitlists are put in order only as far as a year is likely to reach: this many children per slot of the
# providers; the others wait, unsorted, behind them until a provider's list runs out (``Mentoring.line_up``).
FRONT_PER_SLOT = 4
SAMPLE_STEP = 16  # every 16th child's key estimates where the front ends


class MentoringConfig(ProgrammeConfig):
    min_age: int = param(8, "years", "assumption: community mentoring serves school-age youth (BBBS: 6-18)",
                         ge=0, le=17)
    max_age: int = param(17, "years", "assumption: until the youth leaves school", ge=0, le=17)
    cost_per_slot_usd: float = param(
        960.0, "USD per recruited mentor and year (the campaign's unit; a mentor serves youth_per_mentor youth)",
        "EVIDENCE.md costs: Big Brothers Big Sisters cost study 2020, 80 USD per mentor-month x 12", ge=0,
        le=100_000)
    youth_per_mentor: float = param(2.13, "youth per mentor", SECTION_8 + "Garringer et al. 2017, 413,237 youth "
                                    "and 193,823 mentors (D row)", ge=1, le=20)
    max_mentors_per_1000_adults: float = param(
        10.0, "formal mentors per 1,000 adults: the campaign recruits no more (existing mentors included)",
        SECTION_8 + "Raposa, Dietz & Rhodes 2017, about 1% of adults mentor formally (D row)", ge=0, le=1000)
    adults_per_child: float = param(
        3.5, "adults per child aged 0-17", "assumption: about the US ratio (2020 Census, not in the EVIDENCE "
        "files); the city profiles count children only", ge=0.5, le=20)
    recruitment_rate: float = param(
        0.15, "share of the gap to the target mentor count closed each month", "assumption: a campaign reaches "
        "about 85% of its target within a year", ge=0, le=1)
    premature_closure_share: float = param(
        0.38, "share of matches that close within their first commitment_months",
        SECTION_8 + "Kupersmidt et al. 2017, 38.07% premature closure (BBBS STAR: 31% before 12 months)",
        ge=0, le=0.99)
    commitment_months: int = param(12, "months a match is expected to last", SECTION_8 + "STAR project (BBBS): "
                                   "closure counted before 12 months; Tierney & Grossman 1995: about a year",
                                   ge=1, le=60)
    mean_match_months: float = param(31.4, "months, mean length of a match", SECTION_8 + "BBBS of Central Ohio "
                                     "2020, community-based matches", ge=2, le=240)
    social_emotional_sd: float = param(
        0.21, "SD of social-emotional skill after full_effect_months matched",
        "EVIDENCE.md programme effects: DuBois et al. 2011, 0.21 for community-based mentoring (an academic-"
        "outcome row, applied here to social-emotional skill: assumption)", ge=0, le=2)
    full_effect_months: int = param(12, "months matched until the full social-emotional effect",
                                    SECTION_8 + "Grossman & Rhodes 2002: matches lasting a year or more improved most",
                                    ge=1, le=60)
    min_effective_months: int = param(
        6, "months: a match ending sooner leaves no social-emotional gain", SECTION_8 + "BBBS match standard (at "
        "least 6 months); Grossman & Rhodes 2002: very short matches lowered functioning", ge=0, le=60)
    social_emotional_fade_rate: float = param(0.04, "share of the gain lost per month after a match ends",
                                              "assumption: as the learning boost's fade rate", ge=0, le=1)
    learning_sd: float = param(
        0.05, "SD of reading and math per school year matched (a boost: part persists, part fades)",
        "assumption: small, as the 0.21 of DuBois et al. 2011 (EVIDENCE.md) is mostly grades and reports; "
        "below the median RCT effect on tests, 0.10 (EVIDENCE_PROGRAMMES.md section 10)", ge=0, le=1)

    @model_validator(mode="after")
    def _mean_after_commitment(self) -> MentoringConfig:
        """Matches that survive their commitment last on: the mean must exceed the commitment by a month."""
        if self.mean_match_months < self.commitment_months + 1:
            raise InvalidAt("mean_match_months", f"must be at least commitment_months + 1 = "
                            f"{self.commitment_months + 1} (got {self.mean_match_months:g})")
        return self


@register
class Mentoring(Programme):
    name = "mentoring"
    config_class = MentoringConfig
    provider_types = ("mentoring",)
    config: MentoringConfig

    def __init__(self, model: CityModel, config: MentoringConfig):
        super().__init__(model, config)
        children = model.children
        children.define("mentoring_provider", np.int16, fill=-1)  # provider position of the current match
        children.define("mentoring_months", np.int16)  # months matched so far in the current match
        children.define("mentoring_length", np.int16)  # months the current match will last (drawn at its start)
        children.define("mentoring_gain", np.float32)  # social-emotional skill the matches added (SD)
        # The match length is geometric with one monthly hazard during the commitment and another after it,
        # chosen so that premature_closure_share close within the commitment and the mean is mean_match_months.
        months = np.arange(config.commitment_months)
        self.survive_commitment = 1.0 - config.premature_closure_share
        self.early_hazard = 1.0 - self.survive_commitment ** (1.0 / config.commitment_months)
        expected_early = float(np.sum((1.0 - self.early_hazard) ** months))  # mean months within the commitment
        self.late_hazard = self.survive_commitment / (config.mean_match_months - expected_early)
        self.target_mentors = 0  # recruited mentors the campaign pays for this year (simulated)
        self.mentors = 0.0  # recruited mentors active now (simulated)
        self._eligible = np.zeros(len(children), dtype=bool)  # this school year's, fixed in September
        self._queue = np.empty(0, dtype=np.int64)  # waiting children, by nearest provider, in waitlist order
        self._head = np.zeros(len(self.providers), dtype=np.int64)  # next child to be matched, per provider
        self._end = np.zeros(len(self.providers), dtype=np.int64)  # end of each provider's list in the queue
        self._lined_up = np.empty(0, dtype=np.int64)  # the children last put on the waitlists (``line_up``)
        self._keys = np.empty(0)  # and their waitlist keys
        self._cut = np.inf  # those with a key above it are the back of the waitlist: waiting, not yet in order
        self._weights = np.array([max(p.base_capacity, 1) for p in self.providers], dtype=float)  # for recruits
        # Providers some neighborhood has nearest: only they have waitlists.
        nearest = self._choice_table[..., 0].ravel() if self.providers else np.empty(0, dtype=np.int64)
        self._someones_nearest = np.bincount(nearest, minlength=len(self.providers)) > 0
        self._matched = np.empty(0, dtype=np.int64)  # children in a running match
        self._fading = np.empty(0, dtype=np.int64)  # children whose ended matches left a gain
        self._referrals_seen = 0
        self._counts = dict.fromkeys(("matches_started", "matches_closed_early", "matches_past_commitment"), 0)

    def step(self, model: CityModel) -> None:
        if not self.providers:
            return
        september = model.calendar_month == SEPTEMBER
        if september:  # children moved to other rows at the turnover: find the matched and fading ones again
            children, enrolled = model.children, getattr(model.children, self.enrolled)
            self._matched = np.flatnonzero(enrolled)
            self._fading = np.flatnonzero((children.mentoring_gain > 0) & ~enrolled)
        matched = self.end_matches(model)
        if september:
            self.plan_year(model)
        occupied = self.recruit(model, matched)
        free = np.array([p.capacity for p in self.providers]) - occupied
        if september:
            new = self.intake(model, free)
        else:
            if self._referrals_completed(model) > self._referrals_seen:
                self.requeue(model)
            new = self.fill(model, free)
        self._matched = np.concatenate([matched, new])
        self.credit(model, self._matched)

    # --- supply ---------------------------------------------------------------------------------------------
    def plan_year(self, model: CityModel) -> None:
        """September: the year's eligible youth and the mentors the campaign pays for; continuing matches count
        as served this year."""
        children, c = model.children, self.config
        self._eligible = self.eligible(model)
        reach = getattr(children, self.reach)
        reach |= self._eligible.view(np.uint8) * np.uint8(ELIGIBLE)
        reach |= getattr(children, self.enrolled).view(np.uint8) * np.uint8(ENROLLED)
        ceiling = c.max_mentors_per_1000_adults / 1000 * c.adults_per_child * len(children)
        wanted = c.coverage * self.phase(model.school_year) * np.count_nonzero(self._eligible) / c.youth_per_mentor
        existing = sum(p.base_capacity for p in self.providers) / c.youth_per_mentor
        self.target_mentors = self.funded_units(model, min(wanted, ceiling) - existing, c.cost_per_slot_usd)

    def recruit(self, model: CityModel, matched: np.ndarray) -> np.ndarray:
        """Recruits close part of the gap to the target; their slots are spread over the providers like their
        own. A provider keeps the slots of its running (``matched``) matches. Returns each one's running matches."""
        self.mentors += self.config.recruitment_rate * (self.target_mentors - self.mentors)
        slots = largest_remainder(self._weights, int(self.mentors * self.config.youth_per_mentor))
        occupied = np.bincount(model.children.mentoring_provider[matched], minlength=len(self.providers))
        for provider, funded, running in zip(self.providers, slots, occupied):
            provider.enrolled = int(running)
            provider.funded_slots = max(int(funded), int(running) - provider.base_capacity)
        return occupied

    # --- who is matched -------------------------------------------------------------------------------------
    def intake(self, model: CityModel, free: np.ndarray) -> np.ndarray:
        """September: families apply for the school year; free slots go in waitlist order to the nearest
        providers with room, and those left wait at their nearest provider. Returns the children matched."""
        children = model.children
        applicants = self.applicants(model, self._eligible & ~getattr(children, self.enrolled))
        front = self.line_up(model, applicants, self.priority(model, applicants))
        placed = allocate(self.choices(model, front), np.arange(front.size), free)
        if not self.back_turned_away(model, front, placed, free):  # some of the back could get a place
            front = np.concatenate([front, self.back_in_order()])
            placed = allocate(self.choices(model, front), np.arange(front.size), free)
        matched = front[placed >= 0]
        reach = getattr(children, self.reach)
        reach[applicants] |= np.uint8(APPLIED | WAITED)
        reach[matched] &= ~np.uint8(WAITED)  # matched at once, without waiting
        self.queue(model, front[placed < 0])
        self._referrals_seen = self._referrals_completed(model)
        return self.start_matches(model, matched, placed[placed >= 0])

    def line_up(self, model: CityModel, rows: np.ndarray, priority: np.ndarray) -> np.ndarray:
        """``rows`` in waitlist order (``priority``, lower first), as far as a year is likely to reach: about
        FRONT_PER_SLOT children per slot of the providers, those with the lowest keys, are returned in order; the
        others are the back of the waitlist, after them and not yet in order (``back_in_order``)."""
        size = FRONT_PER_SLOT * sum(p.capacity for p in self.providers)
        self._lined_up, self._keys, self._cut = rows, priority, np.inf
        if rows.size > 2 * size:  # most are at the back: the cut is estimated from a sample of the keys
            sample = priority[::SAMPLE_STEP]
            self._cut = np.partition(sample, size // SAMPLE_STEP)[size // SAMPLE_STEP]
        front = priority <= self._cut
        return rows[front][priority_order(priority[front])]

    def back(self) -> np.ndarray:
        """Children at the back of the waitlist."""
        return self._lined_up[self._keys > self._cut]

    def back_in_order(self) -> np.ndarray:
        """The back of the waitlist in waitlist order (it comes after everyone else); the back is empty now."""
        back = self._keys > self._cut
        self._cut = np.inf
        return self._lined_up[back][priority_order(self._keys[back])]

    def back_turned_away(self, model: CityModel, front: np.ndarray, placed: np.ndarray, free: np.ndarray) -> bool:
        """Whether allocating the back of the waitlist too (after ``front``, placed at ``placed``) would place
        nobody of it, so that the front's places stand: each provider a neighborhood tries in a round (the back's
        among them) has no room left after that round (``allocate``: one round per choice, the back last in each)."""
        if self._cut == np.inf:
            return True
        left = free.copy()
        for round_, tried in enumerate(self.choices(model, front).T):
            left -= np.bincount(placed[tried == placed], minlength=left.size)
            if np.any(left[self._choice_table[..., round_]] > 0):
                return False
        return True

    def queue(self, model: CityModel, rows: np.ndarray) -> None:
        """Waitlists: each child (``rows`` in waitlist order) waits at their nearest provider."""
        nearest = self.choices(model, rows)[:, 0]
        self._queue = rows[np.argsort(nearest.astype(np.int16), kind="stable")]  # a radix sort, as in allocate
        counts = np.bincount(nearest, minlength=len(self.providers))
        self._head = np.cumsum(counts) - counts  # next child to be matched, per provider
        self._end = np.cumsum(counts)

    def waiting(self) -> np.ndarray:
        """Children still on a waitlist (not yet matched this school year): the lists' rest, then the back."""
        sizes = np.diff(self._end, prepend=0)
        provider = np.repeat(np.arange(len(self.providers)), sizes)
        return np.concatenate([self._queue[np.arange(self._queue.size) >= self._head[provider]], self.back()])

    def requeue(self, model: CityModel) -> None:
        """New referrals this month: referred eligible children join the waitlists, ahead of unreferred children
        of their priority tier (``Programme.priority``, drawn again for everyone waiting)."""
        children = model.children
        joining = getattr(children, self.referred) & self._eligible & ~getattr(children, self.enrolled)
        joining[self.waiting()] = True
        rows = np.flatnonzero(joining)
        getattr(children, self.reach)[rows] |= np.uint8(APPLIED | WAITED)
        self.queue(model, self.line_up(model, rows, self.priority(model, rows)))
        self._referrals_seen = self._referrals_completed(model)

    def _referrals_completed(self, model: CityModel) -> int:
        """Referrals to this programme that families followed up this school year (``referrals.py``)."""
        return sum(n for (_, target), n in model.referrals.completed.items() if target == self.name)

    def fill(self, model: CityModel, free: np.ndarray) -> np.ndarray:
        """Free slots go to the heads of their provider's waitlist (the back is put in order behind the lists
        when one runs out). Returns the children matched."""
        free = np.maximum(free, 0)
        if self._cut < np.inf and np.any((free > self._end - self._head) & self._someones_nearest):
            back_in_order = self.back_in_order()  # first: ``waiting`` then no longer includes the back
            self.queue(model, np.concatenate([self.waiting(), back_in_order]))
        take = np.minimum(free, self._end - self._head)
        total = int(take.sum())
        if total == 0:
            return np.empty(0, dtype=np.int64)
        first = np.cumsum(take) - take  # where each provider's children start in the month's list
        positions = np.repeat(self._head - first, take) + np.arange(total)
        self._head += take
        return self.start_matches(model, self._queue[positions], np.repeat(np.arange(len(self.providers)), take))

    def start_matches(self, model: CityModel, rows: np.ndarray, provider: np.ndarray) -> np.ndarray:
        """These children are matched with a mentor of ``provider``; each match's length is drawn."""
        children = model.children
        getattr(children, self.enrolled)[rows] = True
        getattr(children, self.referred)[rows] = False
        getattr(children, self.reach)[rows] |= np.uint8(ENROLLED)
        children.mentoring_provider[rows] = provider
        children.mentoring_months[rows] = 0
        children.mentoring_length[rows] = self.match_length(model.streams.uniform(f"{self.name}.length",
                                                                                  model.month, rows))
        for slot, count in zip(self.providers, np.bincount(provider, minlength=len(self.providers))):
            slot.enrolled += int(count)
        self._counts["matches_started"] += rows.size
        return rows

    def end_matches(self, model: CityModel) -> np.ndarray:
        """Matches that reached their length, or whose youth left the age band, end; short ones lose their gain.
        Returns the children still matched."""
        children, c = model.children, self.config
        matched = self._matched
        months, age = children.mentoring_months[matched], children.age[matched]
        due = months >= children.mentoring_length[matched]
        ends = due | (age < c.min_age) | (age > c.max_age)
        ending = matched[ends]
        self._counts["matches_closed_early"] += int(np.count_nonzero(due & (months <= c.commitment_months)))
        short = ending[children.mentoring_months[ending] < c.min_effective_months]
        children.social_emotional[short] -= children.mentoring_gain[short]
        children.mentoring_gain[short] = 0.0
        getattr(children, self.enrolled)[ending] = False
        children.mentoring_provider[ending] = -1
        self._fading = np.concatenate([self._fading, ending[children.mentoring_gain[ending] > 0]])
        return matched[~ends]

    def match_length(self, draw: np.ndarray) -> np.ndarray:
        """Months a match lasts, from a uniform draw (inverse of its survival curve): within the commitment at
        the early hazard, after it at the late hazard."""
        c, survive = self.config, 1.0 - draw  # in (0, 1]
        length = np.empty(draw.size, dtype=np.float64)
        early = survive > self.survive_commitment
        length[early] = np.floor(np.log(survive[early]) / np.log1p(-self.early_hazard)) + 1
        late = ~early
        length[late] = c.commitment_months + 1 + np.floor(
            np.log(survive[late] / self.survive_commitment) / np.log1p(-self.late_hazard))
        return np.minimum(length, np.iinfo(np.int16).max).astype(np.int16)

    # --- effects --------------------------------------------------------------------------------------------
    def credit(self, model: CityModel, matched: np.ndarray) -> None:
        """A month matched: social-emotional skill rises towards the full effect, and in school months reading
        and math get a boost. Gains of ended matches fade (unless the youth is matched again)."""
        children, c = model.children, self.config
        self._fading = fading = self._fading[~getattr(children, self.enrolled)[self._fading]]
        gain = children.mentoring_gain[fading] * np.float32(1.0 - c.social_emotional_fade_rate)
        children.social_emotional[fading] += gain - children.mentoring_gain[fading]
        children.mentoring_gain[fading] = gain
        if matched.size == 0:
            return
        children.mentoring_months[matched] += 1
        months = children.mentoring_months[matched]
        self._counts["matches_past_commitment"] += int(np.count_nonzero(months == c.commitment_months + 1))
        reached = np.float32(c.social_emotional_sd) * np.minimum(months / np.float32(c.full_effect_months), 1)
        gain = np.maximum(children.mentoring_gain[matched], reached.astype(np.float32))
        children.social_emotional[matched] += gain - children.mentoring_gain[matched]
        children.mentoring_gain[matched] = gain
        if model.is_school_month and c.learning_sd > 0:
            boost = np.float32(c.learning_sd / SCHOOL_MONTHS_PER_YEAR)
            model.learning.add_boost(model, boost, boost, idx=matched)

    def record_year(self, model: CityModel) -> None:
        """In August, besides reach and cost: matches started, closed within their commitment, and still running
        after it this year, and the recruited mentors now active (whole city)."""
        for metric, count in self._counts.items():
            model.outcomes.add_value(model, f"{self.name}_{metric}", "programme", self.name,
                                     count * model.child_weight)
        model.outcomes.add_value(model, f"{self.name}_recruited_mentors", "programme", self.name,
                                 self.mentors * model.child_weight)
        self._counts = dict.fromkeys(self._counts, 0)
        super().record_year(model)
