"""Early childhood (ages 0-4): school readiness grows with family resources (MODEL_SPEC 3.1).

Each child draws a readiness endowment at birth: a family-resource term plus the child's own part. Month
by month the child accumulates a sixtieth of it, so at kindergarten entry (age 5) the child's reading and
math scores equal the endowment plus any preschool boost. Scores of school-age children in the first
year are set to their endowment plus a spread for the school years already behind them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..core.params import ASSUMPTION, Params, param
from ..core.calendar import SCHOOL_AGES

if TYPE_CHECKING:
    from ..model import CityModel

MONTHS_BEFORE_SCHOOL = 12 * SCHOOL_AGES[0]


class EarlyChildhoodParams(Params):
    readiness_per_income_sd: float = param(
        0.31, "SD of readiness per SD of log family income",
        "derived: sets the top-minus-bottom income quintile gap at entry to about 1.1 SD, between "
        "Duncan & Magnuson 2013 (more than 1 SD) and Reardon 2011 (90/10 gap 1.23 SD)", ge=0, le=1)
    readiness_parent_ba: float = param(0.25, "SD", "assumption: parental education gradient, García 2015",
                                       ge=0, le=1)
    readiness_non_english_reading: float = param(
        -0.10, "SD", "derived: García 2015 (EPI), Hispanic English learners vs white, adjusted, reading -0.20 as "
        "measured, less the measurement term at entry (english.understated_reading)", ge=-1, le=0)
    readiness_non_english_math: float = param(
        -0.11, "SD", "derived: García 2015 (EPI), Hispanic English learners vs white, adjusted, math -0.26 as "
        "measured, less the measurement term at entry (english.understated_math)", ge=-1, le=0)
    readiness_child_sd: float = param(0.85, "SD", ASSUMPTION, ge=0, le=2)
    reading_math_correlation: float = param(0.7, "correlation", ASSUMPTION, ge=0, le=1)
    prior_school_spread: float = param(
        0.3, "SD", "assumption: spread added by school years before the run starts", ge=0, le=2)


class EarlyChildhood:
    """Owns each child's readiness endowment and grows readiness month by month before kindergarten."""

    name = "early_childhood"

    def __init__(self, model: CityModel, params: EarlyChildhoodParams):
        self.params = params
        children = model.children
        children.define("endowment_reading", np.float32)
        children.define("endowment_math", np.float32)
        children.define("reading", np.float32)
        children.define("math", np.float32)
        everyone = np.arange(len(children))
        self.draw_endowments(model, everyone, model.streams("early_childhood.initial"))
        months_lived = np.minimum(children.age.astype(np.float32) * 12, MONTHS_BEFORE_SCHOOL) / MONTHS_BEFORE_SCHOOL
        spread = self.params.prior_school_spread * np.sqrt(np.maximum(children.age - SCHOOL_AGES[0], 0) / 12)
        noise = model.streams("early_childhood.prior_school").standard_normal((2, len(children)))
        children.reading = children.endowment_reading * months_lived + spread * noise[0]
        children.math = children.endowment_math * months_lived + spread * noise[1]

    def init_children(self, model: CityModel, new: np.ndarray) -> None:
        self.draw_endowments(model, new, model.streams("early_childhood.births", model.month))

    def draw_endowments(self, model: CityModel, idx: np.ndarray, rng: np.random.Generator) -> None:
        p, children, families = self.params, model.children, model.families
        family = children.family[idx]
        resources = p.readiness_per_income_sd * families.income_z[family] + p.readiness_parent_ba * (
            families.parent_ba[family] - 0.5)
        non_english = families.non_english_home[family]
        shared, own = rng.standard_normal((2, idx.size))
        rho = p.reading_math_correlation
        children.endowment_reading[idx] = resources + p.readiness_non_english_reading * non_english + (
            p.readiness_child_sd * shared)
        children.endowment_math[idx] = resources + p.readiness_non_english_math * non_english + (
            p.readiness_child_sd * (rho * shared + np.sqrt(1 - rho**2) * own))

    def step(self, model: CityModel) -> None:
        children = model.children
        young = slice(model.population.pupil_rows(model).stop, None)  # the rows after the pupils'
        children.reading[young] += children.endowment_reading[young] / np.float32(MONTHS_BEFORE_SCHOOL)
        children.math[young] += children.endowment_math[young] / np.float32(MONTHS_BEFORE_SCHOOL)
