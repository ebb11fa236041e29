"""Speed of the full model: child-steps per second for Salem (10 years) and a synthetic city (13 years).

Run with `make benchmark` (or `python benchmarks/run_benchmarks.py`). A benchmark, not a test: it prints
figures and appends them to benchmarks/results.csv so versions can be compared.
"""

from __future__ import annotations

import argparse
import csv
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import simcity_kids as sk

RESULTS = Path(__file__).with_name("results.csv")


def time_run(scenario: str, city: sk.CityProfile | str, years: int, seed: int = 0) -> dict:
    """Build and run one model; child-steps count every child alive in every month."""
    started = time.perf_counter()
    model = sk.CityModel(scenario, city, seed=seed, years=years)
    built = time.perf_counter()
    child_steps = 0
    for _ in range(years * 12):
        child_steps += len(model.children)
        model.step()
    finished = time.perf_counter()
    return {"case": f"{model.city.name}, {years} years, {scenario}", "children": len(model.children),
            "build_s": round(built - started, 3), "run_s": round(finished - built, 3),
            "child_steps_per_s": round(child_steps / (finished - built))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--children", type=int, nargs="*", default=[100_000],
                        help="children aged 0-17 in the synthetic cities to time (13 years each)")
    args = parser.parse_args()
    rows = [time_run("universal_summer", "salem", 10)]
    rows += [time_run("universal_summer", sk.synthetic_city(round(children * 13 / 18)), 13)
             for children in args.children]
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    machine = f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip()
    print(f"{'case':48} {'children':>10} {'build s':>8} {'run s':>8} {'child-steps/s':>14}")
    for row in rows:
        print(f"{row['case']:48} {row['children']:>10,} {row['build_s']:>8} {row['run_s']:>8} "
              f"{row['child_steps_per_s']:>14,}")
    new = not RESULTS.exists()
    with RESULTS.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["timestamp", "version", "machine", *rows[0]])
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({"timestamp": stamp, "version": sk.__version__, "machine": machine, **row})
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
