"""Learning in school months and in summer, and the fade-out of programme boosts (MODEL_SPEC 3.2, 3.3, 3.5).

Scores are in SD against national grade norms, so a child who learns at the national pace stays where
they are. In school months a score moves by the school's value added, the attendance effect, the unmet-
needs penalty and noise. In July and August it drifts with family resources: strongly under the 'faucet'
reading (Alexander, Entwisle & Olson 2007), weakly under the newer studies (the default). A programme's
boost has a persistent part and a part that decays month by month unless the child is in a programme.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from ..core.params import ASSUMPTION, EVIDENCE_FIT, Params, between, param
from ..core.calendar import SCHOOL_AGES, SCHOOL_MONTHS_PER_YEAR, SUMMER_MONTHS
from ..core.rng import monthly_noise

if TYPE_CHECKING:
    from ..model import CityModel


class LearningParams(Params):
    summer_loss: Literal["weak", "strong"] = param(
        "weak", "setting", "default follows von Hippel & Hamrock 2019 and Atteberry & McEachin 2021; 'strong' "
        "is the faucet theory of Alexander, Entwisle & Olson 2007")
    summer_drift_strong: float = param(
        0.07974, "SD per summer per SD of log family income",
        f"{EVIDENCE_FIT}, to Cooper et al. 1996's summer contrast by income of 0.13 SD (-0.14 against -0.27) under "
        "the strong reading (Alexander, Entwisle & Olson 2007)", ge=0, le=0.5)
    summer_drift_weak: float = param(
        0.005, "SD per summer per SD of log family income",
        "derived from von Hippel & Hamrock 2019 (little net gap growth) and Atteberry & McEachin 2021 (race "
        "and SES explain about 4% of summer-loss variance)", ge=0, le=0.5)
    summer_noise_sd: float = param(0.15, "SD per summer", "assumption: Atteberry & McEachin 2021 find summer "
                                   "change varies widely between pupils", ge=0, le=1)
    school_month_noise_sd: float = param(0.03, "SD per month", ASSUMPTION, ge=0, le=1)
    annual_gain_by_grade: tuple[between(0, 3), ...] = param(  # type: ignore[valid-type]
        (1.52, 1.52, 0.60, 0.60, 0.40, 0.40, 0.32, 0.26, 0.26, 0.20, 0.20, 0.20, 0.20),
        "SD of raw growth per school year, grades K-12",
        "Bloom, Hill, Black & Lipsey 2008 (reading K-1 1.52, 2-3 0.60, 4-5 0.40, 7-8 0.26); grade 6 "
        "interpolated and grades 9-12 assumption", length=13)
    absence_multiplier: float = param(
        0.2839, "times the share of a month's growth lost per share of days missed",
        f"{EVIDENCE_FIT}, to García & Weiss 2018's grade 8 math by days missed last month (NAEP 2015), jointly "
        "with the attendance parameters; much of that cross-sectional gradient is confounded", ge=0, le=10)
    school_quality_sd: float = param(0.05, "SD per school year", "assumption: spread of school value added",
                                     ge=0, le=0.5)
    persistent_share: float = param(0.5, "share of a programme boost", "assumption: about half of end-of-"
                                    "programme gains persist (preschool fade-out literature)", ge=0, le=1)
    fade_rate: float = param(0.04, "share of the fading boost lost per month", ASSUMPTION, ge=0, le=1)


class Learning:
    """Moves every pupil's reading and math scores once a month and fades programme boosts."""

    name = "learning"

    def __init__(self, model: CityModel, params: LearningParams):
        self.params = params
        children = model.children
        children.define("boost_reading", np.float32)
        children.define("boost_math", np.float32)
        children.define("sustained", bool)
        self.monthly_gain = np.asarray(params.annual_gain_by_grade, dtype=np.float32) / SCHOOL_MONTHS_PER_YEAR
        self._per_child_version = -1

    @property
    def summer_drift(self) -> float:
        p = self.params
        return p.summer_drift_strong if p.summer_loss == "strong" else p.summer_drift_weak

    @staticmethod
    def observed(model: CityModel, rows: np.ndarray | slice | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Reading and math as an English-language test would measure them (every child, or these ``rows``):
        persistent score plus the boost still fading, less what the test understates of an English learner."""
        children, rows = model.children, slice(None) if rows is None else rows
        reading_understated, math_understated = model.english.understatement(model, rows)
        return (children.reading[rows] + children.boost_reading[rows] - reading_understated,
                children.math[rows] + children.boost_math[rows] - math_understated)

    def add_boost(self, model: CityModel, reading: np.ndarray | float, math: np.ndarray | float,
                  idx: np.ndarray | None = None) -> None:
        """Credit a programme's effect: part persists, part fades unless sustained.

        With ``idx``, the effects go to those children; without it, ``reading`` and ``math`` hold one value
        per child (zero for children the programme does not reach), which is faster for large programmes.
        """
        children, keep = model.children, np.float32(self.params.persistent_share)
        rows = slice(None) if idx is None else idx
        children.reading[rows] += keep * reading
        children.math[rows] += keep * math
        children.boost_reading[rows] += (1 - keep) * reading
        children.boost_math[rows] += (1 - keep) * math
        if idx is None:
            children.sustained |= (np.asarray(reading) != 0) | (np.asarray(math) != 0)
        else:
            children.sustained[idx] = True

    def add_growth(self, model: CityModel, idx: np.ndarray, reading: np.ndarray | float,
                   math: np.ndarray | float) -> None:
        """Credit faster school-month growth (SD) to these children: like school value added, it stays."""
        children = model.children
        children.reading[idx] += reading
        children.math[idx] += math

    def step(self, model: CityModel) -> None:
        children = model.children
        self.refresh_per_child(model)
        pupils = model.population.pupil_rows(model)  # only pupils learn at school and drift over the summer
        if model.is_school_month:
            delta, sd = self.school_month(model, pupils), self.params.school_month_noise_sd
        else:
            delta = np.float32(self.summer_drift / len(SUMMER_MONTHS)) * children.income_z[pupils]
            sd = self.params.summer_noise_sd / np.sqrt(len(SUMMER_MONTHS))
        noise = monthly_noise(model.streams("learning.noise", model.month), (2, pupils.stop), sd)
        noise += delta
        children.reading[pupils] += noise[0]
        children.math[pupils] += noise[1]
        fade = np.float32(1.0 - self.params.fade_rate) + np.float32(self.params.fade_rate) * children.sustained
        children.boost_reading *= fade
        children.boost_math *= fade
        children.sustained = False

    def refresh_per_child(self, model: CityModel) -> None:
        """Per-child terms that change only when the population does (each September)."""
        if self._per_child_version == model.population.version:
            return
        children = model.children
        grade = np.clip(children.age.astype(np.int16) - SCHOOL_AGES[0], 0, 12)
        quality = np.array([s.quality for s in model.schools] + [0.0], dtype=np.float32)
        self._school_gain = quality[children.school] / np.float32(SCHOOL_MONTHS_PER_YEAR)
        self._absence_cost = np.float32(self.params.absence_multiplier) * self.monthly_gain[grade]
        self._per_child_version = model.population.version

    def school_month(self, model: CityModel, rows: slice) -> np.ndarray:
        """The month's change against the national norm, before noise (SD), for ``rows`` (the pupils')."""
        delta = model.children.attendance[rows] - np.float32(model.needs.params.normal_attendance)
        delta *= self._absence_cost[rows]
        delta += self._school_gain[rows]
        delta -= model.needs.penalty(model, "learning_penalty")[rows] / np.float32(SCHOOL_MONTHS_PER_YEAR)
        return delta
