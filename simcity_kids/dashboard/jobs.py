"""The dashboard server's work, shared by every browser session: a process pool and results kept by content.

A session's choices are its own (``state.py``); what they compute is a pure function of them. So results are kept
once per server by the hash of what produced them: a comparison in a folder named by its plan's configuration
hash, a yearly cost by the scenario and the city. Two sessions asking for the same comparison get the same folder
(the second waits on the folder's file lock for the first, then reads it), and a cabinet that goes back to an
earlier choice sees it at once. The lock is a file so that ``simcity-kids dashboard`` can run the first comparison
in its own process while the server starts (``server.py``). Runs go to one process pool per server, so ten sessions
queue their runs rather than start ten pools on two cores.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path

import pandas as pd
from filelock import FileLock

from ..city.profile import CityProfile
from ..experiments.comparison import Comparison
from ..experiments.plan import build_plan
from ..experiments.runner import model_process_context, run_plan
from ..scenario import ScenarioConfig
from .server import RESULTS_FOLDER

COST_SAMPLE_PUPILS = 2_000  # simulated pupils of the run that estimates a scenario's yearly cost (assumption)
COST_MAX_YEARS = 10  # the cost estimate runs until every programme is fully phased in, at most this long

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_root: Path | None = None


def shared_pool() -> ProcessPoolExecutor:
    """The server's process pool (one process per core), started on first use and stopped at exit."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(mp_context=model_process_context())
            atexit.register(_pool.shutdown, cancel_futures=True)
        return _pool


def results_root() -> Path:
    """The server's folder of comparisons: the one ``$SIMCITY_KIDS_DASHBOARD_RESULTS`` names, or a temporary
    folder removed at exit."""
    global _root
    with _lock:
        if _root is None:
            given = os.environ.get(RESULTS_FOLDER)
            _root = Path(given) if given else Path(tempfile.mkdtemp(prefix="simcity-dashboard-"))
            if not given:
                atexit.register(shutil.rmtree, _root, ignore_errors=True)
        return _root


def comparison(scenarios: Sequence[ScenarioConfig], city: CityProfile, *, seeds: int, years: int,
               scale: float, on_run: Callable[[int, int], None] | None = None,
               executor: Executor | None = None) -> Comparison:
    """Every scenario on ``seeds`` paired replicates (the first is the reference), run on the shared pool (or
    ``executor``) into the folder of their plan's hash, or read from it if an earlier request ran them."""
    plan = build_plan(list(scenarios), city, seeds=seeds, years=years, scale=scale, name="dashboard",
                      source="dashboard")
    folder = results_root() / plan.config_hash()[:20]
    with FileLock(folder.with_suffix(".lock")):
        run_plan(plan, folder, resume=(folder / "manifest.json").is_file(), executor=executor or shared_pool(),
                 on_run=on_run)
    return Comparison(folder)


def yearly_cost(config: ScenarioConfig, city: CityProfile) -> pd.Series:
    """What the scenario costs the city a year once every funded programme is fully phased in (USD, by programme
    and in total), from a sample run of the model's own funding rules (a 1-in-K sample of the pupils)."""
    return _yearly_cost(config.model_dump_json(), city.model_dump_json()).copy()


@lru_cache(maxsize=256)
def _yearly_cost(config_json: str, city_json: str) -> pd.Series:
    from ..model import CityModel

    config = ScenarioConfig.model_validate_json(config_json)
    city = CityProfile.model_validate_json(city_json)
    funded = [getattr(config.programmes, name) for name in type(config.programmes).model_fields]
    years = min(COST_MAX_YEARS, max([c.start_year + c.phase_in_years for c in funded if c.coverage > 0] or [1]))
    scale = max(1.0, city.pupils / COST_SAMPLE_PUPILS)
    model = CityModel(config, city, seed=0, years=years, scale=scale).run()
    costs = model.outcomes.table()
    costs = costs[(costs.metric == "cost_usd") & (costs.year == years - 1)]
    by_programme = costs[(costs.group_kind == "programme") & (costs.group != "total")].set_index("group")["value"]
    by_programme = by_programme[by_programme > 0].sort_values(ascending=False)
    total = costs.loc[costs.group == "total", "value"].sum()
    return pd.concat([by_programme, pd.Series({"total": total})]).rename("usd_per_year")
