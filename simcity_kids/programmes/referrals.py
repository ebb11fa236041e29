"""Referrals: one mechanism, shared by success plans, navigation and the cabinet (MODEL_SPEC 3.6 and 3.7).

A referral tells the family about the programme it points to (awareness) and, if the family follows it up,
puts the child on that programme's waitlist ahead of unreferred children of the same priority
(``Programme.priority``) until the child is served or the school year ends. Whether a family follows up is a
draw whose chance rises with the cabinet's coordination and with a coordinator's follow-up
(``Cabinet.referral_completion``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..model import CityModel


class Referrals:
    """Makes referrals and counts them by source and target programme for the year."""

    def __init__(self) -> None:
        self.made: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.completed: defaultdict[tuple[str, str], int] = defaultdict(int)

    def refer(self, model: CityModel, target: str, children_idx: np.ndarray, source: str,
              follow_up: float = 0.0) -> np.ndarray:
        """Refer these children to the programme ``target``; returns those whose family followed up.

        Each child's chance comes from the stream ``referrals.<source>.<target>`` of the month, one draw per
        child row (``Streams.uniform``), so a source refers to a target at most once a month."""
        programme = model.programme(target)
        children = model.children
        children_idx = np.asarray(children_idx, dtype=np.int64)
        draw = model.streams.uniform(f"referrals.{source}.{target}", model.month, children_idx)
        done = children_idx[np.flatnonzero(draw < model.cabinet.referral_completion(follow_up))]
        if not programme.school_based:
            getattr(model.families, f"aware_{programme.name}")[children.family[children_idx]] = True
        getattr(children, programme.referred)[done] = True
        self.made[source, target] += children_idx.size
        self.completed[source, target] += done.size
        return done

    def refer_unserved(self, model: CityModel, target: str, children_idx: np.ndarray, source: str,
                       follow_up: float = 0.0) -> None:
        """``refer`` those of these children who are neither referred to nor enrolled in ``target`` already."""
        programme, children = model.programme(target), model.children
        waiting = getattr(children, programme.referred)[children_idx] | getattr(children, programme.enrolled)[
            children_idx]
        children_idx = children_idx[np.flatnonzero(~waiting)]  # positions, not a mask: numpy takes them faster
        if children_idx.size:
            self.refer(model, target, children_idx, source, follow_up)

    def record_year(self, model: CityModel) -> None:
        """In August: referrals made and completed this school year (whole city), by source and target."""
        for key in sorted(self.made):
            group = f"{key[0]}->{key[1]}"
            model.outcomes.add_value(model, "referrals_made", "referral", group, self.made[key] * model.child_weight)
            model.outcomes.add_value(model, "referrals_completed", "referral", group,
                                     self.completed[key] * model.child_weight)
        self.made.clear()
        self.completed.clear()
