"""A tiny Solara app for the browser smoke test (tests/test_dashboard_assets.py): a counter button and a plotly
figure, the two kinds of front end the dashboard relies on (Vuetify widgets, and plotly through anywidget)."""

from __future__ import annotations

import plotly.graph_objects as go
import solara

clicks = solara.reactive(0)


@solara.component
def Page() -> None:
    solara.Button("Add one", on_click=lambda: clicks.set(clicks.value + 1))
    solara.Text(f"Clicked {clicks.value} times")
    solara.FigurePlotly(go.Figure(go.Scatter(x=[0, 1, 2, 3], y=[0, 1, 4, 9], name="squares")))
