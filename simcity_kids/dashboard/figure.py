"""Plotly figures in the page, with plotly.js loaded once per page instead of once per figure.

Plotly's figure widget carries its whole front end (about 5 MB of JavaScript) in every instance: Solara's
``FigurePlotly`` sends it over the websocket and the browser evaluates it again for each figure, about a second
apiece, so the first comparison (four figures) took six seconds to appear. Here a figure carries a two-line module
that imports plotly's own bundle from the server's static assets; the browser imports a URL once per page.
"""

from __future__ import annotations

from pathlib import Path

import plotly
import plotly.graph_objects as go
import solara
from solara.server import settings

PLOTLY_BUNDLE = Path(plotly.__file__).parent / "package_data" / "widgetbundle.js"
# Solara serves the files of its asset folders at <root>/static/assets/<name>: plotly's bundle, and the page's
# custom.js that starts loading it with the page.
for folder in (PLOTLY_BUNDLE.parent, Path(__file__).parent / "static"):
    if str(folder) not in settings.assets.extra_locations:
        settings.assets.extra_locations.append(str(folder))

# The same URL as static/custom.js preloads, so that the browser's module map has it already.
_IMPORT_BUNDLE = f"""
const root = `${{window.location.origin}}${{window.solara?.rootPath ?? ""}}`;
const bundle = await import(`${{root}}/static/assets/{PLOTLY_BUNDLE.name}`);
export default bundle.default;
"""


class SharedBundleFigureWidget(go.FigureWidget):
    """Plotly's figure widget whose front end is plotly's bundle imported by URL (shared by every figure)."""

    _esm = _IMPORT_BUNDLE


@solara.component
def Figure(figure: go.Figure):
    """A plotly figure in the page; drawn again when ``figure`` changes."""
    element = SharedBundleFigureWidget.element()

    def show() -> None:
        widget: SharedBundleFigureWidget = solara.get_widget(element)
        with widget.batch_update():
            widget.data = ()
            widget.layout = figure.layout
            widget.add_traces(figure.data)

    solara.use_effect(show, [figure])
    return element
