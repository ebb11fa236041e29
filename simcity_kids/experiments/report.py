"""A self-contained HTML report of an experiment's results folder: what ran, the final-year table and the figures.

The report is one file that opens offline, years later, on a machine without Python: plotly.js is inlined once in
the head and every figure is a div drawn by it, so nothing is fetched from the network. Text from the user's files
(names, errors) is escaped, and the file is written beside its final name and renamed, so a reader never sees
half a report.
"""

from __future__ import annotations

import html
from pathlib import Path

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from ..core.output import write_file_atomically
from . import figures
from .comparison import SUBJECTS, Comparison, final_year

STYLE = """body { font-family: system-ui, sans-serif; max-width: 1200px; margin: auto; padding: 1em; color: #222 }
table { border-collapse: collapse; font-size: 90% } th, td { border: 1px solid #ccc; padding: 2px 8px }
th { text-align: left; background: #f4f4f4 } pre { white-space: pre-wrap; background: #f8f8f8; padding: .5em }
.note { color: #666 }"""


def write_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of the results ``folder`` to ``out`` (default ``FOLDER/report.html``) and return its path."""
    comparison = Comparison(folder)
    path = Path(out) if out is not None else comparison.folder / "report.html"
    write_file_atomically(path, _page(comparison).encode())
    return path


def _page(comparison: Comparison) -> str:
    plan, escape = comparison.plan, html.escape
    outcomes = plan.outcomes
    sections = [_header(comparison), _section("Final year", comparison.summary().to_html(border=0))]
    if plan.pooled:
        spread = final_year(comparison.uncertainty()).to_html(border=0, float_format="{:.4g}".format)
        note = ("<p class=note>Each scenario pooled over the draws of its uncertain parameters: seed_sd is one "
                "run's seed noise, parameter_sd the spread from not knowing the parameters; ci: 95% interval over "
                "seeds at one parameter set; range: 95% range of a projection with n_seeds seeds over seeds and "
                "parameters; parameter_share: the range's share from the parameters.</p>")
        sections.append(_section("Seed noise and parameter uncertainty (final year)", spread, note))
    sections.append(_section("Outcomes by year", *(figures.gap_trajectories(comparison, o) for o in outcomes)))
    if comparison.differences().empty:
        sections.append(_section("Comparisons", f"<p class=note>Nothing to compare: no scenario besides the reference "
                                 f"({escape(comparison.reference)}) has finished runs.</p>"))
    else:
        sections += [
            _section(f"Paired differences from {comparison.reference}",
                     *(figures.paired_differences(comparison, o) for o in outcomes)),
            _section("Cost against gap closed", figures.cost_vs_gap_closed(comparison)),
            _section("Winners and losers", *(figures.winners_losers(comparison, s) for s in SUBJECTS))]
    indices = comparison.sensitivity()
    if not indices.empty:
        sections.append(_section("Sensitivity indices",
                                 *(figures.sensitivity(comparison, o, indices) for o in outcomes)))
    title = escape(f"{plan.name}: simcity-kids experiment report")
    return (f"<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n<title>{title}</title>\n"
            f"<style>\n{STYLE}\n</style>\n<script type=\"text/javascript\">{get_plotlyjs()}</script>\n</head>\n"
            f"<body>\n<h1>{title}</h1>\n" + "\n".join(sections) + "\n</body>\n</html>\n")


def _header(comparison: Comparison) -> str:
    """What ran, on what, with which code: enough to tell two reports apart and to rerun the experiment."""
    plan, manifest, runs = comparison.plan, comparison.manifest, comparison.runs()
    counts = runs.status.value_counts()
    design = plan.design
    facts = {
        "city": plan.city.name, "scenarios": ", ".join(plan.scenarios), "reference scenario": plan.reference,
        "years": plan.years, "seeds": f"{len(plan.seeds)} (seeds {plan.seeds[0]} to {plan.seeds[-1]})",
        "design": "none" if design is None else f"{design.method}, {len(design.samples)} points over "
                  f"{', '.join(design.names)} (scenarios: {', '.join(plan.designed)})",
        "runs": ", ".join(f"{counts.get(status, 0)} {status}" for status in ("done", "failed", "pending")),
        "configuration hash": manifest["config_hash"],
        "versions": ", ".join(f"{name} {version}" for name, version in manifest["versions"].items()),
        "started, ended (UTC)": f"{manifest.get('started_utc')}, {manifest.get('ended_utc')}"}
    rows = "".join(f"<tr><th>{html.escape(key)}</th><td>{html.escape(str(value))}</td></tr>"
                   for key, value in facts.items())
    failed = runs[runs.status == "failed"]
    errors = "".join(f"<li>{html.escape(run.run_id)}<pre>{html.escape(str(run.error))}</pre></li>"
                     for run in failed.itertuples())
    return _section("Experiment", f"<table>{rows}</table>", f"<h3>Failed runs</h3><ul>{errors}</ul>" if errors else "")


def _section(title: str, *parts: str | go.Figure | None) -> str:
    """A titled section of HTML parts and figures (each a div drawn by the inlined plotly.js); None is left out."""
    body = [part.to_html(full_html=False, include_plotlyjs=False, default_height="500px")
            if isinstance(part, go.Figure) else part for part in parts if part is not None]
    return f"<section>\n<h2>{html.escape(title)}</h2>\n" + "\n".join(body) + "\n</section>"
