"""The calendar (MODEL_SPEC section 1): one step is a month; a run starts in September of school year 0.

School runs September to June (ten months); July and August are summer. Children start kindergarten at 5
and leave after grade 12, at 18.
"""

from __future__ import annotations

SCHOOL_AGES = (5, 17)  # kindergarten at 5, grade 12 at 17
LEAVING_AGE = 18  # 18-year-olds leave each September (MODEL_SPEC section 1)
SUMMER_MONTHS = (7, 8)
SCHOOL_MONTHS_PER_YEAR = 10
SEPTEMBER, JUNE, AUGUST = 9, 6, 8


class Calendar:
    """Months since the run began and what they mean; the model is one (``model.calendar_month``)."""

    month: int = 0
    start_month: int = 0  # the first month simulated: below 0 when a burn-in comes before year 0

    @property
    def calendar_month(self) -> int:
        """1 = January ... 12 = December; the run starts in September."""
        return (self.month + 8) % 12 + 1

    @property
    def school_year(self) -> int:
        """0 for the first September-to-August year of the run (below 0 in the burn-in)."""
        return self.month // 12

    @property
    def is_summer(self) -> bool:
        return self.calendar_month in SUMMER_MONTHS

    @property
    def is_school_month(self) -> bool:
        return not self.is_summer
