"""Shared fixtures: the test seed, and runs that several tests read, made once per session; for browser tests,
Debian's Chromium under Playwright, a Solara app served on a free loopback port, and screenshots.

Every test that needs a seed takes it from the ``seed`` fixture (or ``TEST_SEED`` plus an offset), so the
whole suite can be run under another seed: ``SIMCITY_KIDS_TEST_SEED=7 make test``. A test must hold for any
seed: its tolerances come from the sampling error, not from one lucky draw.

A browser test is marked ``@pytest.mark.browser`` and takes pytest-playwright's ``page``; it is skipped, with the
reason, where /usr/bin/chromium is missing (``make test`` installs it when run as root). ``serve_solara(target)``
starts ``solara run`` and returns ``(url, log_path)``; the test fails if the server could not load a front-end
package (``Could not load URL`` in its log): the dashboard must work with no CDN, from the cache that ``make``
fills (simcity_kids.dashboard.assets). ``save_screenshot(page, name)`` keeps a PNG in test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import simcity_kids as sk

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CDN_FAILURE = re.compile(r"Could not load URL: '?([^'\s]+)")  # Solara's log line for a failed CDN request
SERVER_START_TIMEOUT_S = 90
_SOLARA_LOGS = pytest.StashKey[list[Path]]()

TEST_SEED = int(os.environ.get("SIMCITY_KIDS_TEST_SEED", "0"))
GENERATED_START = {"population.burn_in_years": 0}


def generated(scenario: str | sk.ScenarioConfig = "baseline", overrides: dict | None = None) -> sk.ScenarioConfig:
    """``scenario`` (with ``overrides``) started from the generated city, with no burn-in: for tests of the
    generator, and of rules that need a known start (no boosts, awareness or history yet; the first step is
    September of year 0, with no turnover)."""
    config = sk.load_scenario(scenario)[0] if isinstance(scenario, str) else scenario
    return config.with_overrides({**GENERATED_START, **(overrides or {})}, f"{config.source} from the generated city")


def pytest_report_header(config) -> str:
    return f"simcity-kids test seed: {TEST_SEED} (set SIMCITY_KIDS_TEST_SEED to change it)"


@pytest.fixture
def seed() -> int:
    """The run's seed for tests that take one (SIMCITY_KIDS_TEST_SEED, default 0)."""
    return TEST_SEED


@pytest.fixture(scope="session")
def baseline_run() -> sk.RunResult:
    return sk.run("baseline", city="salem", years=10, seed=TEST_SEED + 11)


@pytest.fixture(scope="session")
def large_salem() -> sk.CityProfile:
    """Salem's profile with ten times the pupils: group means with little sampling noise."""
    return sk.load_city("salem").model_copy(update={"pupils": 38_000})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the browser tests, saying how to run them, where Debian's Chromium is not installed."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: install Debian's Chromium (as root: apt-get install -y "
                                   "chromium; `make test` does it when run as root)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Playwright drives Debian's Chromium: `playwright install` downloads its own browsers, which fails offline."""
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROME_ARGS}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_tail(log_path: Path, lines: int = 40) -> str:
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])


def _fail_on_cdn_failures(logs: list[Path]) -> None:
    """A CDN request means the front-end cache lacks a package: offline, that part of the page is broken. A log
    that failed is taken off ``logs``, so that the test's end and its teardown, which both check, report it once."""
    for log_path in list(logs):
        urls = sorted(set(CDN_FAILURE.findall(log_path.read_text(errors="replace"))))
        if urls:
            logs.remove(log_path)
            pytest.fail(f"the Solara server could not load these from the CDN, missing from its cache (log: {log_path};"
                        " see `python -m simcity_kids.dashboard.assets --check`):\n" + "\n".join(urls), pytrace=False)


def _wait_until_serving(process: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"solara run exited with status {process.returncode}; its log {log_path} ends:\n"
                        f"{_log_tail(log_path)}", pytrace=False)
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    pytest.fail(f"solara run did not answer at {url} within {SERVER_START_TIMEOUT_S} s; its log {log_path} ends:\n"
                f"{_log_tail(log_path)}", pytrace=False)


def _stop(process: subprocess.Popen) -> None:
    """Stop the server and whatever it started: it leads its own process group."""
    for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


DASHBOARD_COMMAND = "simcity-kids dashboard"


@pytest.fixture
def serve_solara(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str | Path], tuple[str, Path]]]:
    """``serve_solara(target) -> (url, log_path)``: serves a Solara app (a file, or a module such as
    ``simcity_kids.dashboard.app``) with ``solara run --production`` on a free loopback port until the test ends;
    the target ``DASHBOARD_COMMAND`` serves the dashboard as a user does, with ``simcity-kids dashboard``.

    The server's CDN is an address where nothing answers, so a package missing from the cache fails the test
    here just as it would on a machine with no internet, rather than being fetched quietly.
    """
    processes: list[subprocess.Popen] = []
    logs = request.node.stash.setdefault(_SOLARA_LOGS, [])

    def serve(target: str | Path) -> tuple[str, Path]:
        port = _free_port()
        log_path = tmp_path / f"solara-{port}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "SOLARA_ASSETS_CDN": "http://127.0.0.1:9/"}
        command = ([sys.executable, "-m", "simcity_kids", "dashboard", "--port", str(port)]
                   if target == DASHBOARD_COMMAND else
                   [sys.executable, "-m", "solara", "run", str(target), "--host", "127.0.0.1", "--port", str(port),
                    "--production", "--no-open"])
        with open(log_path, "wb") as log:
            processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                              stderr=subprocess.STDOUT, start_new_session=True))
        logs.append(log_path)
        url = f"http://127.0.0.1:{port}/"
        _wait_until_serving(processes[-1], url, log_path)
        return url, log_path

    yield serve
    for process in processes:
        _stop(process)
    _fail_on_cdn_failures(logs)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail the test itself, not its teardown, when a server it started asked the CDN for a package: that is the
    likely cause of whatever else went wrong on the page (a button never shown), so it is the failure reported."""
    try:
        return (yield)
    finally:
        _fail_on_cdn_failures(item.stash.get(_SOLARA_LOGS, []))


@pytest.fixture
def save_screenshot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """``save_screenshot(page, name) -> path``: a PNG of the page's viewport in test-artifacts/screenshots/, named
    after the test and ``name``, kept after the run for a person (or CI's artifacts) to look at. Not full-page: that
    resizes the window, and Plotly redraws its figures, blank, while the picture is taken."""
    def save(page: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        test = re.sub(r"[^A-Za-z0-9._-]+", "_", request.node.name).strip("_")
        path = SCREENSHOTS / f"{test}-{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}.png"
        page.screenshot(path=str(path))
        return path
    return save
