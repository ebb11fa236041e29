"""Food support (MODEL_SPEC section 4): a monthly food benefit for food-insecure families, like SNAP.

Food insecurity is a family's need, mostly short spells that come and go (``needs.py``). A family that gets a
place with the city's food-support providers (pantries and benefit offices) holds the benefit for the rest of the
school year: in each month its food insecurity is unmet, the benefit meets it with the monthly resolution chance
(``services.NeedService``, ``ongoing``), which is set so that enrolled families are food insecure about a third
less often in the odds than others, as SNAP households are after about six months. Families apply again each
September. Meeting the need gives back the school days and learning that food insecurity costs the children.
"""

from __future__ import annotations

from ..core.params import param
from . import register
from .services import NeedService, NeedServiceConfig

SECTION = "EVIDENCE_PROGRAMMES.md section 3"


class FoodConfig(NeedServiceConfig):
    cost_per_slot_usd: float = param(
        4788.0, "USD (2012) per family and school year, shared by the family's eligible children",
        f"derived from {SECTION}: average SNAP benefit $133 per person a month (Kreider et al. 2012) x 12 months "
        "x 3 persons (assumption: a parent and two children)", ge=0, le=100_000)
    resolution_chance: float = param(
        0.11, "monthly chance that the benefit meets an enrolled family's unmet need, at provider quality 1",
        f"derived from {SECTION}: odds of child food insecurity a third lower after about 6 months on SNAP "
        "(Mabli & Worthington 2014; Bovell et al. 2015: 33% less likely), at the steady state of the need's "
        "monthly chain for disadvantaged families (prevalence 0.35, 4 months): 0.1346 (1 - p) / (0.25 + 0.75 p) "
        "= (0.35 / 0.65) x 2/3 gives p = 0.11", ge=0, le=1)


@register
class Food(NeedService):
    """A monthly food benefit, held for the school year, for food-insecure families."""

    name = "food"
    config_class = FoodConfig
    provider_types = ("food_pantry",)
    need = "food_insecurity"
    ongoing = True
    config: FoodConfig
