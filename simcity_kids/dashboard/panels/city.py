"""City panel: a built-in city or an imported one, and the facts a cabinet checks before trusting a run."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import solara

from ...city.profile import CityProfile, builtin_cities
from ..state import Session


def city_facts(city: CityProfile) -> pd.DataFrame:
    """The profile's key facts as (fact, value) rows: pupils, shares, neighborhoods, schools, providers."""
    levels = Counter(school.level for school in city.schools)
    slots: Counter[str] = Counter()
    for provider in city.providers:
        slots[provider.type] += provider.capacity
    rows = [("pupils (K-12)", f"{city.pupils:,}"),
            ("economically disadvantaged", f"{city.economically_disadvantaged:.0%}"),
            ("English learners", f"{city.english_learners:.1%}"),
            ("first language not English", f"{city.first_language_not_english:.0%}"),
            *((f"race/ethnicity: {race}", f"{share:.0%}") for race, share in city.race_shares.items()),
            ("neighborhoods", str(len(city.neighborhoods))),
            ("schools", ", ".join(f"{count} {level}" for level, count in levels.items())),
            ("providers", f"{len(city.providers)} sites"),
            *((f"slots without new funding: {kind}", f"{count:,}") for kind, count in sorted(slots.items()))]
    return pd.DataFrame(rows, columns=["fact", "value"])


@solara.component
def CityPanel(session: Session):
    city = session.city.value
    with solara.Column():
        with solara.Row():
            solara.Select("Built-in city", values=builtin_cities(),
                          value=session.city_choice.value if session.city_choice.value in builtin_cities() else None,
                          on_value=session.choose_city)
            path = solara.use_reactive("")
            solara.InputText("or import: a city TOML file or a folder of city CSV files", value=path,
                             continuous_update=False)
            solara.Button("Import", on_click=lambda: session.choose_city(path.value), disabled=not path.value)
        if session.city_error.value:
            solara.Error(session.city_error.value)
        solara.Markdown(f"### {city.name}{', ' + city.state if city.state else ''}")
        solara.DataFrame(city_facts(city), items_per_page=30)
