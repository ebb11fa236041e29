"""Serving the dashboard: ``simcity-kids dashboard`` runs Solara's production server on this package's app.

While the server starts, this process runs the first comparison every new page shows (``defaults.py``)
into the server's results folder, so that the first page finds it done or nearly (``jobs.py``).
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor

APP = "simcity_kids.dashboard.app"
RESULTS_FOLDER = "SIMCITY_KIDS_DASHBOARD_RESULTS"  # a results folder given to the server by whoever removes it
RUNS_NICENESS = 5  # the first runs yield to the starting server, which the page needs first (best of 0, 5, 10)


def serve(host: str, port: int) -> int:
    """Serve the dashboard at http://host:port until interrupted; the exit status of the server."""
    results = tempfile.mkdtemp(prefix="simcity-dashboard-")
    command = [sys.executable, "-m", "solara", "run", APP, "--host", host, "--port", str(port), "--production",
               "--no-open"]
    server = subprocess.Popen(command, env={**os.environ, RESULTS_FOLDER: results})
    print(f"simcity-kids dashboard: http://{host}:{port} (Ctrl-C stops it)", flush=True)
    try:
        os.environ[RESULTS_FOLDER] = results
        run_first_comparison()
        _warn_if_assets_missing()
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        return 0
    finally:
        server.wait()
        shutil.rmtree(results, ignore_errors=True)


def _warn_if_assets_missing() -> None:
    from .assets import cache_dir, missing_specs, solara_specs

    missing = missing_specs(solara_specs(), cache_dir())
    if missing:
        print(f"simcity-kids: warning: {len(missing)} front-end packages are not cached ({', '.join(missing)}): "
              "the page needs the internet; 'python -m simcity_kids.dashboard.assets' caches them", file=sys.stderr)


def run_first_comparison() -> None:
    """The comparison a new page starts with (``defaults.py``), into the server's results.

    Its runs fork from this process (which has no threads), so they start at once, and run at a lower priority,
    so that the server, which the page needs first, starts about as fast as alone.
    """
    from ..city.profile import load_city
    from ..scenario import load_scenario
    from . import jobs
    from .defaults import DEFAULT_CITY, DEFAULT_REFERENCE, DEFAULT_SCALE, DEFAULT_SCENARIO, DEFAULT_SEEDS, DEFAULT_YEARS

    with ProcessPoolExecutor(mp_context=multiprocessing.get_context("fork"), initializer=os.nice,
                             initargs=(RUNS_NICENESS,)) as pool:
        jobs.comparison([load_scenario(DEFAULT_REFERENCE)[0], load_scenario(DEFAULT_SCENARIO)[0]],
                        load_city(DEFAULT_CITY), seeds=DEFAULT_SEEDS, years=DEFAULT_YEARS, scale=DEFAULT_SCALE,
                        executor=pool)
