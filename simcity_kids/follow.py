"""Follow one child through a run, month by month, as a City Connects coordinator sees their success plan.

A citywide table hides the child: this module shows one. Pick a child by neighborhood and group
(:func:`candidates`), then record, each month, what the model holds for them: needs, what the September review
of their success plan found, open referrals, services, attendance and measured reading and math
(:func:`follow_in`, :func:`follow_child`). Events are the differences between consecutive months, written for
a coordinator ("Sep, year 0: success plan review found vision; referred to vision").

It only reads the model's own arrays after each step: it draws nothing and writes nothing, so following a child
leaves the run exactly as it would have been (``tests/test_follow.py`` checks that the outcomes table is the same).
The dashboard's 'Follow a child' panel calls these functions; :func:`timeline_figure` draws the record.
"""

from __future__ import annotations

from calendar import month_abbr
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .city.profile import CityProfile
from .core.calendar import JUNE, SCHOOL_AGES, SEPTEMBER
from .core.validation import ConfigError, check_kind, shown
from .model import CityModel
from .outcomes import group_kinds
from .programmes.success_plans import BIT, FINDINGS, FOLLOW_UP_MONTHS, REVIEW_MONTH, SuccessPlans
from .rules.needs import NEEDS
from .scenario import ScenarioConfig

K8_AGES = (5, 13)  # the ages success plans cover (kindergarten to grade 8)
ALL = "all"
COLUMNS = ("run_month", "year", "month", "label", "age", "school", "attendance", "attendance_year", "reading",
           "math", "needs", "needs_found", "referrals", "services")
LISTS = ("needs", "needs_found", "referrals", "services")  # kept as tuples while recording, joined by ", "


@dataclass
class ChildHistory:
    """One child's record: who they are at the start, one row per month followed, and the month's events.

    ``months`` columns: run_month (months since September of year 0), year (school year), month (1-12), label
    ('Sep Y0'), age, school (name, '' before kindergarten), attendance (the month's share of school days; NaN in
    summer and before school), attendance_year (share of school days so far this school year), reading and math
    (measured, SD against the national norm), needs (unmet now), needs_found (by this school year's success plan
    review), referrals (open), services (programmes the child is enrolled in); lists are comma-separated names.
    ``events`` has one line per month in which something changed, the last 'left' if the child left the city.
    """

    child_id: int
    profile: dict[str, Any]
    months: pd.DataFrame
    events: list[str] = field(default_factory=list)


def groups(model: CityModel) -> list[str]:
    """The groups :func:`candidates` accepts: 'all' and the outcomes table's groups (quintiles, disadvantage, race,
    English learners)."""
    return [ALL, *_group_codes(model)]


def candidates(model: CityModel, neighborhood: str | None = None, group: str = ALL,
               ages: tuple[int, int] = K8_AGES) -> np.ndarray:
    """Stable ids (``children.id``) of the children now in ``neighborhood`` (None: any) and ``group``, aged
    ``ages`` (youngest, oldest; default K-8, whom success plans cover), in row order."""
    children = model.children
    hoods = [n.name for n in model.city.neighborhoods]
    if neighborhood is not None and neighborhood not in hoods:
        raise ConfigError("neighborhood", "", f"unknown neighborhood {shown(neighborhood)} in {model.city.name}; "
                          f"allowed: None (any) or {', '.join(hoods)}", argument=True)
    if group not in groups(model):
        raise ConfigError("group", "", f"unknown group {shown(group)}; allowed: {', '.join(groups(model))}",
                          argument=True)
    if not (isinstance(ages, tuple | list) and len(ages) == 2
            and all(isinstance(a, int | np.integer) and not isinstance(a, bool) for a in ages)
            and 0 <= ages[0] <= ages[1] <= SCHOOL_AGES[1]):
        raise ConfigError("ages", "", "must be (youngest, oldest), whole numbers with 0 <= youngest <= oldest <= "
                          f"{SCHOOL_AGES[1]} (got {shown(ages)})", argument=True)
    mask = (children.age >= ages[0]) & (children.age <= ages[1])
    if neighborhood is not None:
        mask &= children.neighborhood == hoods.index(neighborhood)
    if group != ALL:
        array, code = _group_codes(model)[group]
        mask &= array == code
    return children.id[mask]


def follow_in(model: CityModel, child_id: int, months: int) -> ChildHistory:
    """Step ``model`` ``months`` months and record the child ``child_id`` after each; the record ends when the
    child leaves (the model still steps every month, so its state does not depend on the child followed)."""
    check_kind("months", months, (int,), "a whole number >= 0")
    if months < 0:
        raise ConfigError("months", "", f"must be a whole number >= 0 (got {months})", argument=True)
    row = _row(model, child_id)
    if row is None:
        raise ConfigError("child_id", "", f"no child with id {shown(child_id)} in the city now; allowed: an id from "
                          "candidates(model)", argument=True)
    history = ChildHistory(int(child_id), _profile(model, row), pd.DataFrame(columns=COLUMNS))
    before, records = _state(model, row), []
    for _ in range(months):
        when = {"run_month": model.month, "year": model.school_year, "month": model.calendar_month}
        school_month = model.is_school_month
        model.step()
        if before is None:  # the child left in an earlier month
            continue
        label = f"{month_abbr[when['month']]}, year {when['year']}"
        row = _row(model, child_id)
        if row is None:
            history.events.append(f"{label}: left (no longer among the city's children)")
            before = None
            continue
        now = _state(model, row)
        if now["age"] < SCHOOL_AGES[0]:
            now["attendance"] = now["attendance_year"] = np.nan
        elif not school_month:
            now["attendance"] = np.nan
        records.append({**when, "label": f"{month_abbr[when['month']]} Y{when['year']}", **now})
        changes = _changes(model, when["month"], before, now)
        if changes:
            history.events.append(f"{label}: {'; '.join(changes)}")
        before = now
    if records:
        history.months = pd.DataFrame([{c: ", ".join(r[c]) if c in LISTS else r[c] for c in COLUMNS}
                                       for r in records])
    return history


def follow_child(scenario: ScenarioConfig | str | Path | None = None, city: CityProfile | str | Path = "salem", *,
                 seed: int = 0, years: int = 3, scale: float = 1.0, neighborhood: str | None = None,
                 group: str = ALL, ages: tuple[int, int] = K8_AGES, pick: int = 0) -> ChildHistory:
    """Build a run, take the ``pick``-th of the :func:`candidates` at its start and follow them for ``years``."""
    check_kind("pick", pick, (int,), "a whole number >= 0")
    model = CityModel(scenario, city, seed=seed, years=years, scale=scale)
    ids = candidates(model, neighborhood, group, ages)
    if not 0 <= pick < ids.size:
        allowed = f"0 to {ids.size - 1}" if ids.size else "none: choose another neighborhood, group or ages"
        raise ConfigError("pick", "", f"{pick} is out of range: {ids.size} children aged {ages[0]}-{ages[1]} match "
                          f"neighborhood {neighborhood or 'any'} and group {group}; allowed: {allowed}",
                          argument=True)
    return follow_in(model, int(ids[pick]), years * 12)


def timeline_figure(history: ChildHistory) -> go.Figure:
    """Reading and math (SD), attendance (share of school days) and the months of each service, by month."""
    frame, profile = history.months, history.profile
    services = sorted({s for listed in frame.services for s in listed.split(", ") if s})
    figure = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.5, 0.25, 0.25],
                           subplot_titles=("Measured scores (SD against the national norm)",
                                           "Attendance (share of school days in the month)",
                                           "Services (months enrolled)"))
    for subject in ("reading", "math"):
        figure.add_trace(go.Scatter(x=frame.run_month, y=frame[subject], mode="lines+markers", name=subject,
                                    customdata=frame.label, hovertemplate="%{customdata}: %{y:.2f} SD"), row=1, col=1)
    figure.add_trace(go.Scatter(x=frame.run_month, y=frame.attendance, mode="lines+markers", name="attendance",
                                customdata=frame.label, hovertemplate="%{customdata}: %{y:.1%}"), row=2, col=1)
    for service in services:
        months = frame[frame.services.str.split(", ").map(lambda listed, s=service: s in listed)]
        figure.add_trace(go.Scatter(x=months.run_month, y=[service] * len(months), mode="markers", name=service,
                                    marker={"symbol": "square", "size": 10}, customdata=months.label,
                                    hovertemplate=f"%{{customdata}}: {service}<extra></extra>"), row=3, col=1)
    septembers = frame[frame.month == SEPTEMBER]
    figure.update_xaxes(tickvals=septembers.run_month, ticktext=septembers.label, row=3, col=1,
                        title_text="month of the run")
    figure.update_yaxes(title_text="SD", row=1, col=1)
    figure.update_yaxes(title_text="share of days", tickformat=".1%", row=2, col=1)
    title = (f"Child {history.child_id}: age {profile['age']} at the start, {profile['neighborhood']}, "
             f"{profile['school'] or 'not yet at school'}")
    figure.update_layout(title=title, template="plotly_white", hovermode="closest", height=700)
    return figure


def _group_codes(model: CityModel) -> dict[str, tuple[np.ndarray, int]]:
    """Each group label of the outcomes table except neighborhoods -> (its kind's array of codes, its code)."""
    return {label: (codes, code) for kind, labels, codes in group_kinds(model) if kind != "neighborhood"
            for code, label in enumerate(labels)}


def _row(model: CityModel, child_id: int) -> int | None:
    """The child's row now, or None once they left."""
    rows = np.flatnonzero(model.children.id == child_id)
    return int(rows[0]) if rows.size else None


def _school(model: CityModel, row: int) -> str:
    school = int(model.children.school[row])
    return model.schools[school].name if school >= 0 else ""


def _profile(model: CityModel, row: int) -> dict[str, Any]:
    """Who the child is at the start: where they live and go to school, age and the groups of the outcomes table."""
    children = model.children
    labels = {kind: labels[int(codes[row])] for kind, labels, codes in group_kinds(model)}
    return {"id": int(children.id[row]), "neighborhood": labels["neighborhood"], "school": _school(model, row),
            "age": int(children.age[row]), "income_quintile": labels["income_quintile"], "race": labels["race"],
            "english_learner": bool(children.english_learner[row]), "disadvantaged": bool(children.disadvantaged[row])}


def _state(model: CityModel, row: int) -> dict[str, Any]:
    """What the model holds for the child in ``row`` now (lists as tuples of names; days per programme that
    counts them)."""
    children, rows = model.children, np.array([row])
    reading, math = model.learning.observed(model, rows)
    found = children.success_plan_found[row]
    return {
        "age": int(children.age[row]), "school": _school(model, row),
        "attendance": float(children.attendance[row]),
        "attendance_year": float(model.needs.yearly_attendance(model)[row]),
        "reading": float(reading[0]), "math": float(math[0]),
        "needs": tuple(n for n in NEEDS if model.needs.unmet(model, n, rows)[0]),
        "needs_found": tuple(f for f in FINDINGS if found & BIT[f]),
        "referrals": tuple(p.name for p in model.programmes if getattr(children, p.referred)[row]),
        "services": tuple(p.name for p in model.programmes if getattr(children, p.enrolled)[row]),
        "days": {p.name: int(getattr(children, f"{p.name}_days")[row]) for p in model.programmes
                 if hasattr(children, f"{p.name}_days")},
    }


def _changes(model: CityModel, month: int, before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """A coordinator's lines for what changed over the month ``month`` (1-12)."""
    def added(key: str, old: dict[str, Any] = before, new: dict[str, Any] = now) -> list[str]:
        return [name for name in new[key] if name not in old[key]]

    lines = []
    on_plan = SuccessPlans.name in now["services"]
    if on_plan and month == REVIEW_MONTH:
        lines.append(f"success plan review found {', '.join(now['needs_found']) or 'nothing'}")
    elif on_plan and month in FOLLOW_UP_MONTHS and now["needs_found"]:
        lines.append("success plan follow-up")
    if now["school"] != before["school"]:
        lines.append(f"now at {now['school']}")
    lines += [f"{words} {', '.join(names)}" for words, names in (
        ("new need:", added("needs")), ("need resolved:", added("needs", now, before)),
        ("referred to", added("referrals")), ("enrolled in", added("services"))) if names]
    for service in added("services", now, before):  # a season's days are reset only when its next season starts
        days = max(before["days"].get(service, 0), now["days"].get(service, 0))
        lines.append(f"left {service}" + (f" after {days} days attended" if service in now["days"] else ""))
    if month == JUNE and now["age"] >= SCHOOL_AGES[0]:
        absent = now["attendance_year"] < model.needs.params.chronic_absence_threshold
        lines.append(f"school year attendance {now['attendance_year']:.0%}" + (" (chronically absent)" * absent))
    return lines
