"""Governance (MODEL_SPEC 3.7): the children's cabinet as a lever, and the elections that may remove its champion.

The cabinet's ``coordination`` (data sharing, aligned agencies; 0 = no cabinet) raises take-up and the share of
referrals that families complete. Its ``authority`` (an ordinance, an executive order) keeps part of that
coordination when the champion is lost. New programme money comes from the city budget, which elections expose
unless ``institutionalized``, and from braided sources (hospital community-benefit money, United Way grants),
which they do not. Every ``election_interval_years`` the mayor's office may lose or regain the champion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from ..core.calendar import SEPTEMBER
from ..core.params import LEVER, Params, param

if TYPE_CHECKING:
    from ..model import CityModel


class CabinetParams(Params):
    coordination: float = param(0.0, "0-1 index: data sharing and referral friction; 0 = no cabinet", LEVER,
                                ge=0, le=1)
    authority: float = param(0.5, "share of coordination kept without a champion (formal authority)", LEVER,
                             ge=0, le=1)
    braided_share: float = param(0.0, "share of new programme funding from braided sources (hospital "
                                 "community benefit, United Way), which elections do not cut", LEVER, ge=0, le=1)
    institutionalized_share: float = param(0.0, "share of the city-budget part written into the base budget, "
                                           "which survives losing the champion", LEVER, ge=0, le=1)
    staff_cost_usd: float = param(350_000.0, "USD per year for the cabinet's director, analyst and data "
                                  "sharing, while coordination > 0", "assumption: two or three city salaries and a "
                                  "data-sharing agreement; no cost of a cabinet was found", ge=0, le=1e8)
    takeup_gain_at_full_coordination: float = param(
        0.3, "relative increase in take-up", "assumption: below the 1.6 times of help with applying over information "
        "alone (SNAP, 18% vs 11%; Finkelstein & Notowidigdo 2019, EVIDENCE_PROGRAMMES.md section 6)", ge=0, le=2)
    referral_completion: float = param(
        0.55, "share of referrals a family follows up without coordination",
        "EVIDENCE_PROGRAMMES.md section 2: 55-59% attended follow-up eye care after a referral (SF preschools)",
        ge=0, le=1)
    referral_completion_gain_at_full_coordination: float = param(
        0.3, "added share of referrals completed", "assumption: towards the 82% of 2-1-1 callers who reached "
        "the referred service (Boyum et al. 2016, EVIDENCE_PROGRAMMES.md section 6)", ge=0, le=1)
    election_interval_years: int = param(4, "years", "MODEL_SPEC 3.7: elections every 4 years (mayoral terms)",
                                         ge=1, le=10)
    champion_loss_probability: float = param(
        0.3, "probability per election", "assumption: no survival rate of city initiatives across mayors was "
        "found (EVIDENCE_PROGRAMMES.md section 9; coalitions: about 1/3 end within 4 years of losing funds)",
        ge=0, le=1)
    champion_regain_probability: float = param(
        0.3, "probability per election", "assumption: as likely as losing one; no figure was found "
        "(EVIDENCE_PROGRAMMES.md section 9)", ge=0, le=1)


class Cabinet(mesa.Agent):
    """The mayor-led children's cabinet: coordination, funding by source, a champion who may be lost."""

    def __init__(self, model: CityModel, params: CabinetParams):
        super().__init__(model)
        self.params = params
        self.has_champion = True
        self.budget_usd: dict[str, float] = {}  # this school year's spending by programme

    @property
    def coordination(self) -> float:
        return self.params.coordination * (1.0 if self.has_champion else self.params.authority)

    @property
    def funding_factor(self) -> float:
        """Share of planned new funding that is actually spent this year."""
        p = self.params
        city_part = 1.0 if self.has_champion else p.institutionalized_share
        return p.braided_share + (1.0 - p.braided_share) * city_part

    @property
    def takeup_multiplier(self) -> float:
        return 1.0 + self.params.takeup_gain_at_full_coordination * self.coordination

    def referral_completion(self, follow_up: float = 0.0) -> float:
        """Chance that a family follows up a referral; ``follow_up`` adds what a coordinator's checking adds."""
        p = self.params
        return min(1.0, p.referral_completion + p.referral_completion_gain_at_full_coordination
                   * self.coordination + follow_up)

    def hold_election(self, draw: float) -> None:
        """Keep or lose the champion (MODEL_SPEC 3.7); ``draw`` is uniform on [0, 1)."""
        if self.has_champion:
            self.has_champion = draw >= self.params.champion_loss_probability
        else:
            self.has_champion = draw < self.params.champion_regain_probability


class Governance:
    """Every election year, in September, the cabinet may lose or regain its champion; its staff cost is booked."""

    name = "governance"

    def step(self, model: CityModel) -> None:
        cabinet = model.cabinet
        if model.calendar_month != SEPTEMBER:
            return
        interval = cabinet.params.election_interval_years
        if model.school_year > 0 and model.school_year % interval == 0:
            cabinet.hold_election(float(model.streams("cabinet.election", model.month).random()))
        cabinet.budget_usd = {}
        if cabinet.coordination > 0:  # after the election: a cabinet without champion or authority has no staff
            cabinet.budget_usd["cabinet"] = cabinet.params.staff_cost_usd

    def record_year(self, model: CityModel) -> None:
        """In August: whether the champion is in office, and the cabinet's staff cost."""
        cabinet = model.cabinet
        model.outcomes.add_value(model, "champion_in_office", "programme", "cabinet", float(cabinet.has_champion))
        model.outcomes.add_value(model, "funding_factor", "programme", "cabinet", cabinet.funding_factor)
        model.outcomes.add_value(model, "cost_usd", "programme", "cabinet", cabinet.budget_usd.get("cabinet", 0.0))
