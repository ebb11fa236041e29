"""Access (MODEL_SPEC 3.6): who knows about a programme, and who takes up a slot when offered.

Awareness is a family flag per programme that spreads over social ties each month. Take-up falls with
travel time on the city network and rises with the cabinet's coordination.

Awareness only ever turns on (by word of mouth, a referral or a navigation guide; families stay in the city), so
each family's number of aware ties is kept up to date from the families who became aware since last month, and
each programme keeps its list of unaware families: a month costs work in proportion to those families and the
news, not to the city's families and ties.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..core.params import ASSUMPTION, Params, param

if TYPE_CHECKING:
    from ..model import CityModel


class AccessParams(Params):
    initial_awareness: float = param(0.45, "share of families", ASSUMPTION, ge=0, le=1)
    initial_awareness_parent_ba: float = param(0.25, "added share for families with a BA", ASSUMPTION,
                                               ge=0, le=1)
    spread_per_tie: float = param(0.02, "probability per aware tie per month", ASSUMPTION, ge=0, le=1)
    max_takeup: float = param(0.85, "probability an aware family with a slot next door takes it", ASSUMPTION,
                              ge=0, le=1)
    travel_decay_minutes: float = param(25.0, "minutes for take-up to fall by a factor e", ASSUMPTION,
                                        ge=1, le=600)
    local_travel_minutes: float = param(5.0, "minutes within one's own neighborhood", ASSUMPTION, ge=0, le=60)


class Awareness:
    """Each month, unaware families learn of each programme from aware ties."""

    name = "awareness"

    def __init__(self, model: CityModel, params: AccessParams):
        from scipy.sparse import csr_matrix

        self.params = params
        source, target = model.ties
        n = len(model.families)
        # ties[i, j] = 1 when family i hears from family j: a matrix-vector product counts aware ties. Ties run
        # both ways (``social_ties``), so row j also lists the families who hear from family j.
        self.ties = csr_matrix((np.ones(source.size, dtype=np.float32), (target, source)), shape=(n, n))
        # per programme: each family's aware ties, and the families still unaware when they were counted
        self._aware_ties: dict[str, np.ndarray] = {}
        self._unaware: dict[str, np.ndarray] = {}
        most_ties = int(np.diff(self.ties.indptr).max(initial=0))
        self._chance_by_ties = 1.0 - (1.0 - params.spread_per_tie) ** np.arange(most_ties + 1, dtype=np.float32)
        # Each family's own take-up multiplier (1 = none), raised by a service that lowers its search cost (a
        # navigation guide); until one is raised, take-up depends on the neighborhood only.
        model.families.define("takeup_multiplier", np.float32, fill=1.0)
        self.takeup_raised = False

    def initialize(self, model: CityModel, programme: str) -> None:
        """Give families their starting awareness of ``programme``."""
        families, p = model.families, self.params
        chance = p.initial_awareness + p.initial_awareness_parent_ba * families.parent_ba
        draw = model.streams(f"awareness.{programme}.initial").random(len(families))
        families.define(f"aware_{programme}", bool, values=draw < chance)

    def step(self, model: CityModel) -> None:
        for programme in model.programmes:
            if programme.school_based:  # served at school: no awareness kept (``Programme.__init__``)
                continue
            aware = getattr(model.families, f"aware_{programme.name}")
            aware_ties, unaware = self.aware_ties(programme.name, aware)
            told = unaware[aware_ties[unaware] > 0]  # only the unaware with an aware tie can hear
            if told.size == 0:
                continue
            draw = model.streams.uniform(f"awareness.{programme.name}", model.month, told)
            hears = draw < self._chance_by_ties[np.minimum(aware_ties[told], self._chance_by_ties.size - 1)]
            aware[told[hears]] = True

    def aware_ties(self, programme: str, aware: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each family's number of ties aware of ``programme`` (weighted like ``ties``), and the families still
        unaware (ascending), brought up to date with the families who became aware since the last call: the work
        is in proportion to the unaware families and the news, which shrink as word spreads."""
        if programme not in self._aware_ties:
            self._aware_ties[programme] = (self.ties @ aware.astype(np.float32)).astype(np.int32)
            self._unaware[programme] = np.flatnonzero(~aware)
            return self._aware_ties[programme], self._unaware[programme]
        counts, unaware = self._aware_ties[programme], self._unaware[programme]
        became = aware[unaware]
        news = unaware[became]
        self._unaware[programme] = unaware = unaware[~became]
        if news.size > aware.size // 8:  # much news (a campaign, the first months): counting afresh is cheaper
            counts[:] = self.ties @ aware.astype(np.float32)
        elif news.size:
            starts, ends = self.ties.indptr[news], self.ties.indptr[news + 1]  # who hears from the news
            lengths = ends - starts
            at = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
            np.add.at(counts, self.ties.indices[at], self.ties.data[at].astype(np.int32))
        return counts, unaware

    def takeup_probability(self, model: CityModel, minutes: np.ndarray) -> np.ndarray:
        """Chance an aware family accepts a slot ``minutes`` away."""
        p = self.params
        chance = p.max_takeup * np.exp(-(minutes + p.local_travel_minutes) / p.travel_decay_minutes)
        return np.minimum(chance * model.cabinet.takeup_multiplier, 1.0)

    def takeup_by_child(self, model: CityModel, minutes: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """The chance that each child's family (of ``rows``, or every child) accepts a slot ``minutes`` (one entry
        per neighborhood) away, times the family's own take-up multiplier once a service has raised it."""
        children = model.children
        rows = slice(None) if rows is None else rows
        chance = self.takeup_probability(model, minutes)[children.neighborhood[rows]]
        if self.takeup_raised:
            chance = np.minimum(chance * model.families.takeup_multiplier[children.family[rows]], 1.0)
        return chance

    def raise_takeup(self, model: CityModel, multiplier: np.ndarray) -> None:
        """Set every family's own take-up multiplier (1 = none), e.g. for the users of a navigation guide."""
        model.families.takeup_multiplier = multiplier
        self.takeup_raised = True
