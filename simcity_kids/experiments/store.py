"""The results store: one folder per experiment, one parquet file per run, and a manifest.

    FOLDER/manifest.json                 the resolved plan and its hash, versions, seeds, times, each run's status
    FOLDER/runs/RUN.parquet              the run's outcomes table (written last: its presence means "done")
    FOLDER/runs/RUN.children.parquet     each pupil's id, groups and end-of-run scores (winners and losers)
    FOLDER/runs/RUN.failed.json          a failed run's error

Every file is written to a hidden temporary name, flushed and renamed into place, so a run killed at any moment
leaves either no file or a whole one; leftovers of a killed write keep their hidden name and are removed when the
experiment resumes. The files, not the manifest, say which runs are done: a resumed experiment redoes exactly
the runs whose outcomes file is missing.
"""

from __future__ import annotations

import io
import json
import platform
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.output import PARTIAL_PREFIX, check_output_folder, write_file_atomically
from ..core.validation import ConfigError, read_text
from .plan import Plan

MANIFEST = "manifest.json"
RUNS = "runs"
DEPENDENCIES = ("simcity-kids", "mesa", "numpy", "pandas", "pyarrow", "networkx", "pydantic", "scipy", "SALib",
                "dask", "distributed")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    """The Python, package and dependency versions a run used."""
    found = {"python": platform.python_version()}
    for name in DEPENDENCIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def read_manifest(path: str | Path) -> dict[str, Any]:
    try:
        manifest = json.loads(read_text(path, "manifest"))
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(path, "", f"is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or "plan" not in manifest or "config_hash" not in manifest:
        raise ConfigError(path, "", "is not a simcity-kids experiment manifest (no 'plan' or 'config_hash')")
    return manifest


class ResultsStore:
    """An experiment's folder (see the module docstring)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.runs_folder = self.folder / RUNS

    # --- opening ----------------------------------------------------------------------------------------------
    def open(self, plan: Plan, resume: bool) -> dict[str, Any]:
        """Make the folder ready for ``plan``: new, or (with ``resume``) the same plan's earlier folder, whose
        leftover temporary files are removed. Returns the manifest to keep up to date."""
        manifest_path = self.folder / MANIFEST
        if manifest_path.is_file():
            earlier = read_manifest(manifest_path)
            done = sum(1 for spec in plan.runs if self.done(spec.run_id))
            if earlier["config_hash"] != plan.config_hash():
                raise ConfigError("out", "", f"{str(self.folder)!r} holds another experiment "
                                  f"('{earlier['plan'].get('name')}', different configuration hash); choose "
                                  "another folder", argument=True)
            if not resume:
                raise ConfigError("out", "", f"{str(self.folder)!r} already holds this experiment ({done} of "
                                  f"{len(plan.runs)} runs done): pass --resume to finish it, or choose another "
                                  "folder", argument=True)
            for leftover in [*self.folder.glob(f"{PARTIAL_PREFIX}*"), *self.runs_folder.glob(f"{PARTIAL_PREFIX}*")]:
                leftover.unlink(missing_ok=True)
            manifest = earlier
            manifest["resumed_utc"] = [*manifest.get("resumed_utc", []), now()]
        else:
            if self.folder.exists() and any(self.folder.iterdir()):
                raise ConfigError("out", "", f"{str(self.folder)!r} is a folder holding other things; allowed: a "
                                  "new or empty folder, or this experiment's folder with --resume", argument=True)
            try:
                check_output_folder(self.folder, "out")
            except ConfigError as exc:
                raise ConfigError("out", "", exc.problem, argument=True) from None
            manifest = {"experiment": plan.name, "source": plan.source, "config_hash": plan.config_hash(),
                        "versions": versions(), "seeds": list(plan.seeds), "started_utc": now(),
                        "ended_utc": None, "plan": plan.to_json(), "runs": {}}
        self.runs_folder.mkdir(parents=True, exist_ok=True)
        for spec in plan.runs:
            entry = manifest["runs"].setdefault(spec.run_id, {})
            entry.update(scenario=spec.scenario, point=spec.point, replicate=spec.replicate, seed=spec.seed)
            entry["status"] = "done" if self.done(spec.run_id) else "failed" if self.failure(spec.run_id) \
                else "pending"
        self.write_manifest(manifest)
        return manifest

    # --- runs -------------------------------------------------------------------------------------------------
    def outcomes_path(self, run_id: str) -> Path:
        return self.runs_folder / f"{run_id}.parquet"

    def children_path(self, run_id: str) -> Path:
        return self.runs_folder / f"{run_id}.children.parquet"

    def failure_path(self, run_id: str) -> Path:
        return self.runs_folder / f"{run_id}.failed.json"

    def done(self, run_id: str) -> bool:
        return self.outcomes_path(run_id).is_file()

    def failure(self, run_id: str) -> str | None:
        path = self.failure_path(run_id)
        return json.loads(path.read_text())["error"] if path.is_file() else None

    def write_run(self, run_id: str, outcomes: bytes, children: bytes) -> None:
        """Publish a finished run: the children's file, then the outcomes file that marks the run done."""
        self.failure_path(run_id).unlink(missing_ok=True)
        write_file_atomically(self.children_path(run_id), children)
        write_file_atomically(self.outcomes_path(run_id), outcomes)

    def write_failure(self, run_id: str, error: str) -> None:
        write_file_atomically(self.failure_path(run_id), json.dumps({"error": error}).encode())

    def outcomes(self, run_id: str) -> pd.DataFrame:
        return pd.read_parquet(self.outcomes_path(run_id))

    def children(self, run_id: str) -> pd.DataFrame:
        return pd.read_parquet(self.children_path(run_id))

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_file_atomically(self.folder / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())


def to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    """A table as parquet bytes: the same table always gives the same bytes."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()
