"""Follow a child: one child of a chosen neighborhood and group, through the success plan, month by month."""

from __future__ import annotations

import solara
import solara.lab

from ...follow import K8_AGES, follow_child, groups, timeline_figure
from ...model import CityModel
from ..figure import Figure
from ..state import Session

YEARS = [1, 2, 3, 5]


@solara.component
def FollowPanel(session: Session):
    city, scenario = session.city.value, session.scenario.value
    hoods = [hood.name for hood in city.neighborhoods]
    neighborhood = solara.use_reactive(hoods[0])
    group = solara.use_reactive("Q1")
    pick = solara.use_reactive(0)
    years = solara.use_reactive(2)
    known = solara.use_memo(lambda: groups(CityModel(None, city, years=1, scale=max(1.0, city.pupils / 500))),
                            [city.name, city.pupils])
    follow = solara.lab.use_task(lambda: follow_child(
        scenario, city, seed=0, years=years.value, neighborhood=neighborhood.value if neighborhood.value in hoods
        else None, group=group.value, ages=K8_AGES, pick=pick.value), dependencies=None, raise_error=False)
    with solara.Column():
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "center"}):
            solara.Select("Neighborhood", values=hoods, value=neighborhood)
            solara.Select("Group", values=known, value=group)
            solara.InputInt("which child of them (0 = the first)", value=pick, continuous_update=False)
            solara.Select("years", values=YEARS, value=years)
            solara.Button(f"Follow under {scenario.name}", on_click=follow, color="primary",
                          classes=["simcity-follow"], disabled=follow.pending)
        solara.ProgressLinear(follow.pending)
        if follow.error:
            solara.Error(str(follow.exception))
        history = follow.latest if follow.latest is not None and not follow.error else None
        if history is None:
            solara.Info("Pick a neighborhood and a group of K-8 children, then follow one of them.")
            return
        profile = history.profile
        solara.Markdown(f"**Child {history.child_id}**: " + ", ".join(f"{key.replace('_', ' ')} {value}"
                                                                       for key, value in profile.items()))
        Figure(timeline_figure(history))
        solara.Markdown("#### The coordinator's log\n" + "\n".join(f"- {line}" for line in history.events))
        solara.DataFrame(history.months, items_per_page=12)
