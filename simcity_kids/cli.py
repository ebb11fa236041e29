"""The command line: ``simcity-kids run [SCENARIO.toml] [--city NAME|PATH] [--years N] [--seed S] [--scale K]
[--out DIR]`` and ``simcity-kids cities``.

Heavy imports (mesa, pandas) happen inside the commands so that ``--help`` answers at once. Bad input
prints one line naming the file, the key and what is allowed, and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simcity-kids",
        description="Compare citywide interventions for children by their projected effect on achievement gaps.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run one scenario on one city and write its outcomes",
                              description="Run a scenario (default: the baseline) on a city (default: salem), "
                              "print the main gaps by year and write outcomes.parquet, outcomes.csv, trace.csv "
                              "and manifest.json.")
    run.add_argument("scenario", nargs="?", default=None,
                     help="scenario TOML file, or a name in scenarios/ (default: baseline)")
    run.add_argument("--city", default="salem",
                     help="built-in city name, city TOML path or folder of city CSV files (default: salem)")
    run.add_argument("--years", type=int, default=10, help="years to simulate, 1-20 (default: 10)")
    run.add_argument("--seed", type=int, default=0, help="random seed, a whole number >= 0 (default: 0)")
    run.add_argument("--scale", type=float, default=1.0,
                     help="simulate 1/K of the children, each standing for K; totals are for the whole city "
                     "(default: 1, every child)")
    run.add_argument("--out", type=Path, default=None,
                     help="output folder (default: simcity-output/SCENARIO-CITY-seedS)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    commands.add_parser("cities", help="list the built-in cities with their pupils and main shares")
    return parser


def _run(args: argparse.Namespace) -> int:
    import pandas as pd

    from .api import run

    result = run(args.scenario, city=args.city, years=args.years, seed=args.seed, scale=args.scale,
                 progress=not args.quiet)
    out = args.out or Path("simcity-output") / f"{result.scenario.name}-{_slug(result.city.name)}-seed{args.seed}"
    result.save(out)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.3f}".format):
        gaps = result.gaps()
        for subject in ("reading", "math"):
            table = gaps[[c for c in gaps.columns if c.startswith(subject)]]
            table.columns = [c.split(": ", 1)[1] for c in table.columns]
            scaled = f", 1 simulated child per {args.scale:g}" if args.scale != 1 else ""
            print(f"\n{subject.capitalize()} gaps (SD, all grades), {result.city.name}, scenario "
                  f"'{result.scenario.name}', seed {args.seed}{scaled}:")
            print(table.to_string())
    print(f"\nWrote {out}/outcomes.parquet, outcomes.csv, trace.csv, manifest.json")
    return 0


def _cities() -> int:
    from .city import builtin_cities, load_city

    header = (f"{'city':14} {'name':34} {'pupils':>8} {'white':>6} {'Black':>6} {'Latino':>7} {'Asian':>6} "
              f"{'disadv.':>8} {'EL':>6} {'hoods':>6} {'schools':>8}")
    print(header)
    for key in builtin_cities():
        c = load_city(key)
        shares = c.race_shares
        print(f"{key:14} {c.name + (', ' + c.state if c.state else ''):34} {c.pupils:>8,} {shares['white']:>6.0%} "
              f"{shares['black']:>6.0%} {shares['latino']:>7.0%} {shares['asian']:>6.0%} "
              f"{c.economically_disadvantaged:>8.0%} {c.english_learners:>6.1%} {len(c.neighborhoods):>6} "
              f"{len(c.schools):>8}")
    return 0


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .errors import ConfigError

    try:
        return _cities() if args.command == "cities" else _run(args)
    except ConfigError as exc:
        print(f"simcity-kids: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
