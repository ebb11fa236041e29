"""Serving the dashboard: ``simcity-kids dashboard`` runs Solara's production server on this package's app.

While the server starts, this process runs the first comparison every new page shows (the defaults of
``state.py``) into the server's results folder, so that the first page finds it done or nearly (``jobs.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

APP = "simcity_kids.dashboard.app"


def serve(host: str, port: int) -> int:
    """Serve the dashboard at http://host:port until interrupted; the exit status of the server."""
    from .assets import cache_dir, missing_specs, solara_specs

    missing = missing_specs(solara_specs(), cache_dir())
    if missing:
        print(f"simcity-kids: warning: {len(missing)} front-end packages are not cached ({', '.join(missing)}): "
              "the page needs the internet; 'python -m simcity_kids.dashboard.assets' caches them", file=sys.stderr)
    print(f"simcity-kids dashboard: http://{host}:{port} (Ctrl-C stops it)", flush=True)
    from . import jobs

    results = tempfile.mkdtemp(prefix="simcity-dashboard-")
    command = [sys.executable, "-m", "solara", "run", APP, "--host", host, "--port", str(port), "--production",
               "--no-open"]
    server = subprocess.Popen(command, env={**os.environ, jobs.RESULTS: results})
    try:
        os.environ[jobs.RESULTS] = results
        run_first_comparison()
        jobs.shared_pool().shutdown()
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        return 0
    finally:
        server.wait()
        shutil.rmtree(results, ignore_errors=True)


def run_first_comparison() -> None:
    """The comparison a new page starts with (``state.py``'s defaults), into the server's results."""
    from ..city.profile import load_city
    from ..scenario import load_scenario
    from . import jobs
    from .state import DEFAULT_CITY, DEFAULT_REFERENCE, DEFAULT_SCALE, DEFAULT_SCENARIO, DEFAULT_SEEDS, DEFAULT_YEARS

    jobs.comparison([load_scenario(DEFAULT_REFERENCE)[0], load_scenario(DEFAULT_SCENARIO)[0]],
                    load_city(DEFAULT_CITY), seeds=DEFAULT_SEEDS, years=DEFAULT_YEARS, scale=DEFAULT_SCALE)
