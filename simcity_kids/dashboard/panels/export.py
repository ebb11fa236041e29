"""Export: the scenario as TOML (it loads back to the same configuration hash), results as CSV, the HTML report."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import solara

from ...experiments.comparison import Comparison
from ...experiments.report import write_report
from ..state import Session


def results_csv(comparison: Comparison) -> str:
    """Every outcome's mean and 95% interval per scenario and year, and the paired differences, as CSV."""
    estimates = comparison.estimates().reset_index().assign(table="estimate")
    differences = comparison.differences().reset_index().assign(table=f"minus {comparison.reference}")
    return pd.concat([estimates, differences], ignore_index=True).to_csv(index=False)


def report_html(comparison: Comparison) -> bytes:
    """The experiment's self-contained HTML report (``simcity-kids report``)."""
    with tempfile.TemporaryDirectory() as folder:
        return write_report(comparison.folder, Path(folder) / "report.html").read_bytes()


@solara.component
def ExportPanel(session: Session):
    scenario = session.scenario.value
    comparison = session.comparison.value
    toml, config_hash = scenario.to_toml(), scenario.config_hash()
    with solara.Column():
        solara.Markdown(f"**Scenario** `{scenario.name}`, configuration hash `{config_hash}`")
        solara.Text(config_hash, classes=["simcity-config-hash"], style={"display": "none"})
        solara.FileDownload(toml, filename=f"{scenario.name}.toml", label="Download the scenario (TOML)")
        solara.Markdown("```toml\n" + toml + "\n```")
        if comparison is None:
            solara.Info("Run a comparison to export its results.")
            return
        solara.FileDownload(lambda: results_csv(comparison), filename="comparison.csv",
                            label="Download the results (CSV)")
        solara.FileDownload(lambda: report_html(comparison), filename="report.html",
                            label="Download the HTML report")
