"""Benchmark suite: how fast the full model runs, and how that compares with one agent per child.

    python benchmarks/run_benchmarks.py            # everything (about five minutes on 2 cores)
    python benchmarks/run_benchmarks.py --quick    # no 1,000,000-child city, 20 pool runs

Every run starts from its city's burn-in (13 years before year 0, ``city/history.py``), whose cost is timed and
reported on its own: once computed for a seed, every scenario on that seed starts from it. Measures, with the By
All Means package on (cabinet, success plans, summer, after-school, preschool and
navigation; every other programme serves children through the city's existing providers):
Salem for 10 years; synthetic cities of 10,000, 100,000 and 1,000,000 children for 13 years (each in its
own process, for its peak memory); the time of `import simcity_kids` and of `simcity-kids --help`;
Louisville (97,000 pupils, every child) for 10 years from the command line, output files included; the
agent-per-child reference (benchmarks/reference_model.py) against the fast model on the same 100,000-child
city, and the speed-up of the million-child run over the reference's child-steps per second; the time from
`simcity-kids dashboard` to its first comparison (Salem, By All Means against baseline, 5 seeds) on screen in
headless Chromium, if Debian's chromium and Playwright are there; and 100 Salem runs (By All Means) through the
experiment runner, each in a new process: serially, on a local pool of 2 processes and on a local Dask cluster
of 2 workers, in turns, best of three. Prints child-steps per second and appends every figure to
benchmarks/results.csv, so versions can be compared. A benchmark, never a timed test.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.csv"
SCENARIO = "by_all_means"
EXECUTOR_ROUNDS = 3  # turns of serial, pool and Dask runs; each executor's best time is reported
REFERENCE_CHILDREN = 100_000  # the agent-per-child reference's city: one year takes it about 5 s
CHROMIUM = Path("/usr/bin/chromium")  # Debian's, as in the browser tests (tests/conftest.py)
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
FIELDS = ["timestamp", "version", "commit", "machine", "case", "children", "years", "seconds",
          "child_steps_per_s", "peak_mb", "target", "met"]


def pupils_for(children: int) -> int:
    """Pupils (K-12) of a synthetic city with ``children`` aged 0-17 (13 of 18 age years are pupils)."""
    return round(children * 13 / 18)


def timed_run(city: str, children: int, years: int) -> dict:
    """Build and run one model in this process; child-steps count every child alive in every month. The city's
    burn-in (``city/history.py``, 13 years before year 0) is timed on its own: the run starts from it, as every
    scenario on the seed does once it is computed."""
    import simcity_kids as sk

    profile = sk.synthetic_city(pupils_for(children)) if city == "synthetic" else city
    sk.CityModel(SCENARIO, profile, years=1, scale=10).run()  # warm-up: imports and first-call costs
    started = time.perf_counter()
    sk.CityModel(SCENARIO, profile, seed=1, years=years)
    burn_in = time.perf_counter() - started
    started = time.perf_counter()
    model = sk.CityModel(SCENARIO, profile, seed=1, years=years)
    child_steps = 0
    for _ in range(years * 12):
        child_steps += len(model.children)
        model.step()
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"children": len(model.children), "seconds": seconds, "child_steps_per_s": child_steps / seconds,
            "peak_mb": peak_mb, "burn_in_seconds": burn_in}


def run_in_subprocess(city: str, children: int, years: int) -> dict:
    """``timed_run`` in a fresh process, so its peak memory is its own."""
    done = subprocess.run([sys.executable, __file__, "--one", json.dumps([city, children, years])],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def wall_time(command: list[str], repeats: int = 3) -> float:
    """Best wall time of a command over a few repeats (seconds)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


def reference_speed(children: int, months: int = 12) -> tuple[dict, dict]:
    """Child-steps per second of the agent-per-child reference and of the fast model, same city and months."""
    sys.path.insert(0, str(HERE))
    import simcity_kids as sk
    from reference_model import ReferenceModel

    profile = sk.synthetic_city(pupils_for(children))
    # The reference reads value added from the profile; its value does not change the speed.
    profile = profile.model_copy(update={"schools": [s.model_copy(update={"quality": 0.0}) for s in profile.schools]})
    generated = sk.load_scenario(SCENARIO)[0].with_overrides({"population.burn_in_years": 0})  # as the reference
    fast = sk.CityModel(generated, profile, seed=1, years=2)
    reference = ReferenceModel(profile, fast.config, seed=1)
    count = len(fast.children)  # the same in both: the generator fixes the children per age
    results = []
    for model in (reference, fast):
        started = time.perf_counter()
        for _ in range(months):
            model.step()
        seconds = time.perf_counter() - started
        results.append({"children": count, "seconds": seconds, "child_steps_per_s": count * months / seconds})
    return results[0], results[1]


def timed_experiment(runs: int, workers: int, dask: str | None, burn_in: bool = False) -> float:
    """Wall time of ``runs`` Salem runs (10 years, By All Means package) through the experiment runner, in this
    process: pool or cluster start and stop, and every results file, included. Without ``burn_in`` the runs start
    from the generated city, so the time is the runs' own (a run costs the same from either start); with it, each
    run's seed is burned in first, a job of its own."""
    import simcity_kids as sk
    from simcity_kids.experiments import compare

    scenario = sk.load_scenario(SCENARIO)[0]
    if not burn_in:
        scenario = scenario.with_overrides({"population.burn_in_years": 0})
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        comparison = compare([scenario], "salem", seeds=runs, years=10, workers=workers, dask=dask,
                             out=Path(folder) / "results")
        seconds = time.perf_counter() - started
        assert (comparison.runs().status == "done").sum() == runs
    return seconds


def experiment_in_subprocess(runs: int, workers: int, dask: str | None = None, burn_in: bool = False) -> float:
    """``timed_experiment`` in a fresh process, as a planner's command starts it (the import of
    ``simcity_kids.experiments`` is not timed; the model's import, by a run or a worker, is)."""
    done = subprocess.run([sys.executable, __file__, "--experiment", json.dumps([runs, workers, dask, burn_in])],
                          capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def first_comparison_on_screen(executable: str, repeats: int = 3) -> list[float] | None:
    """Seconds from ``simcity-kids dashboard`` to its first comparison's headline in a headless Chromium page, as
    a cabinet sees it (the browser is already open); None without Chromium and Playwright."""
    import socket
    import urllib.request

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not CHROMIUM.is_file():
        return None
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROME_ARGS)
        for _ in range(repeats):
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            url = f"http://127.0.0.1:{port}"
            started = time.perf_counter()
            server = subprocess.Popen([executable, "dashboard", "--port", str(port)], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                while True:
                    try:
                        urllib.request.urlopen(url, timeout=1)
                        break
                    except OSError:
                        if time.perf_counter() - started > 60 or server.poll() is not None:
                            raise RuntimeError(f"the dashboard did not answer at {url}") from None
                        time.sleep(0.05)
                page = browser.new_page()
                page.goto(url)
                page.get_by_text("changes by").first.wait_for(timeout=60_000)
                times.append(time.perf_counter() - started)
                page.close()
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait()
        browser.close()
    return times


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=HERE, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description="simcity-kids benchmark suite")
    parser.add_argument("--quick", action="store_true", help="skip the million-child city; 20 pool runs")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: one timed run, printed as JSON
    parser.add_argument("--experiment", help=argparse.SUPPRESS)  # internal: one timed experiment, in seconds
    args = parser.parse_args()
    if args.one:
        print(json.dumps(timed_run(*json.loads(args.one))))
        return
    if args.experiment:
        print(timed_experiment(*json.loads(args.experiment)))
        return

    import simcity_kids as sk

    rows: list[dict] = []

    def report(case: str, target: str, met: bool | None, **figures) -> None:
        rows.append({"case": case, "target": target, "met": "" if met is None else ("yes" if met else "NO"),
                     **figures})
        shown = ", ".join(f"{k} {v:,.3f}" if isinstance(v, float) and v < 100 else f"{k} {v:,.0f}"
                          for k, v in figures.items())
        mark = "" if met is None else ("  [ok]" if met else "  [MISSED]")
        print(f"{case:52} {shown}{('  target: ' + target) if target else ''}{mark}", flush=True)

    executable = shutil.which("simcity-kids") or str(Path(sys.executable).with_name("simcity-kids"))
    seconds = wall_time([sys.executable, "-c", "import simcity_kids"])
    report("import simcity_kids (new process)", "", None, seconds=seconds)
    seconds = wall_time([executable, "--help"])
    report("simcity-kids --help (new process)", "< 1 s", seconds < 1, seconds=seconds)

    salem = run_in_subprocess("salem", 0, 10)
    burn_ins = {"Salem": salem.pop("burn_in_seconds")}
    report("Salem, 10 years", "< 0.4 s after import", salem["seconds"] < 0.4, years=10, **salem)
    sizes = [10_000, 100_000] + ([] if args.quick else [1_000_000])
    for children in sizes:
        result = run_in_subprocess("synthetic", children, 13)
        burn_ins[f"synthetic city, {children:,} children"] = result.pop("burn_in_seconds")
        largest = result
        if children == 1_000_000:
            met = result["seconds"] < 15 and result["peak_mb"] < 2048
            report(f"synthetic city, {children:,} children, 13 years", "< 15 s and < 2 GB", met, years=13,
                   **result)
        else:
            report(f"synthetic city, {children:,} children, 13 years", "", None, years=13, **result)
    for city, seconds in burn_ins.items():  # once per world and seed; every scenario on the seed starts from it
        report(f"burn-in, 13 years before year 0: {city}", "", None, seconds=seconds)

    with tempfile.TemporaryDirectory() as out:
        seconds = wall_time([executable, "run", "--city", "louisville", "--quiet", "--out", out], repeats=1)
    report("Louisville, 10 years, from the CLI (all children)", "well under 60 s", seconds < 60, seconds=seconds)

    # The reference costs the same per child at any size; the fast model adds a fixed cost per module and month,
    # so its speed-up grows with the city: shown on one city, and judged at a million children for 13 years.
    reference, fast = reference_speed(REFERENCE_CHILDREN)
    report("reference, one Mesa agent per child, 1 year", "", None, **reference)
    report("fast model, same city, 1 year", "", None,
           speed_up=fast["child_steps_per_s"] / reference["child_steps_per_s"], **fast)
    ratio = largest["child_steps_per_s"] / reference["child_steps_per_s"]
    judged = largest["children"] >= 1_000_000
    report(f"speed-up at {largest['children']:,} children, 13 years", ">= 40x reference" if judged else "",
           ratio >= 40 if judged else None, speed_up=ratio)

    on_screen = first_comparison_on_screen(executable)
    if on_screen is None:
        print("dashboard: skipped (needs /usr/bin/chromium and playwright)")
    else:
        median = sorted(on_screen)[len(on_screen) // 2]
        report("dashboard: first comparison on screen, from the command", "< 10 s (median of 3)", median < 10,
               seconds=median, slowest=max(on_screen))

    runs = 20 if args.quick else 100
    full = runs == 100
    # A shared machine's speed drifts over minutes: the three executors take turns, and each keeps its best time.
    executors = {"serial": (1, None), "pool": (2, None), "dask": (2, "local")}  # name: (workers, dask)
    best = dict.fromkeys(executors, float("inf"))
    for _ in range(EXECUTOR_ROUNDS):
        for name, (workers, dask) in executors.items():
            best[name] = min(best[name], experiment_in_subprocess(runs, workers, dask))
    serial, pool, cluster = best["serial"], best["pool"], best["dask"]
    report(f"{runs} Salem runs (10 years, By All Means), serial", "", None, seconds=serial)
    report(f"{runs} Salem runs on a 2-process pool", "< 30 s and >= 1.8x serial" if full else "",
           pool < 30 and serial / pool >= 1.8 if full else None, seconds=pool, speed_up=serial / pool)
    report(f"{runs} Salem runs on a local Dask cluster of 2 workers", ">= 1.7x serial" if full else "",
           serial / cluster >= 1.7 if full else None, seconds=cluster, speed_up=serial / cluster)
    # The same with the steady-state start: a burn-in per seed (one per run here, as each run has its own seed).
    for name, (workers, dask) in executors.items():
        seconds = experiment_in_subprocess(runs, workers, dask, burn_in=True)
        report(f"{runs} Salem runs, {name}, each seed burned in first", "", None, seconds=seconds)

    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    new = not RESULTS.exists() or RESULTS.read_text().splitlines()[:1] != [",".join(FIELDS)]
    with RESULTS.open("w" if new else "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore")
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({"timestamp": stamp, "version": sk.__version__, "commit": commit(),
                             "machine": machine(), **{k: (round(v, 4) if isinstance(v, float) else v)
                                                      for k, v in row.items()}})
    print(f"\nMachine: {machine()}\nAppended {len(rows)} rows to {RESULTS}")


if __name__ == "__main__":
    main()
