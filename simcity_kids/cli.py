"""The command line: ``simcity-kids run [SCENARIO] [--city NAME|PATH|FOLDER] [--years N] [--seed S] [--scale K]
[--out DIR] [--quiet]``; ``simcity-kids compare A B ... [--seeds N]`` and ``simcity-kids experiment FILE.toml
[--resume] [--workers N] [--dask ADDRESS]`` (runs written to a results folder as they finish);
``simcity-kids report FOLDER``; ``simcity-kids validate [--city C] [--seeds N]``; ``simcity-kids calibrate
TARGETS.toml [--city C] [--resume]``; ``simcity-kids cities``,
``scenarios`` and ``parameters``.

Heavy imports (mesa, pandas) happen inside the commands so that ``--help`` answers at once. Bad input, a
command-line usage error included, prints one line naming the file or argument and what is allowed, and
exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

EXIT_BAD_INPUT = 2


class _UsageError(Exception):
    """A command-line usage error, already phrased as the one line to print."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like any other bad input, not a usage block and an exit."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message.removeprefix('argument ')}; see '{self.prog} --help'")

    def parse_known_args(self, args: Sequence[str] | None = None,
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        """Refuse unknown arguments here, so that the message points at the help of the command given them."""
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras


def _number(name: str) -> Callable[[str], int | float]:
    """An argparse type for the API argument ``name``: text to number; the API checks the range, so the command
    line and the Python API allow the same values and say so in the same words."""
    from .core.validation import ARGUMENTS

    argument = ARGUMENTS[name]

    def convert(text: str) -> int | float:
        try:
            return argument.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {argument.words} (got {text!r})") from None
    return convert


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="simcity-kids",
        description="Compare citywide interventions for children by their projected effect on achievement gaps.")
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("run", help="run one scenario on one city and write its outcomes",
                              description="Run a scenario (default: the baseline) on a city (default: salem), "
                              "print the main gaps by year and write outcomes.parquet, outcomes.csv, trace.csv "
                              "and manifest.json.")
    run.add_argument("scenario", nargs="?", default=None,
                     help="scenario TOML file, or a name in scenarios/ (default: baseline)")
    run.add_argument("--city", default="salem",
                     help="built-in city name, city TOML path or folder of city CSV files (default: salem)")
    from .core.validation import ARGUMENTS

    run.add_argument("--years", type=_number("years"), default=10,
                     help=f"years to simulate, {ARGUMENTS['years'].words} (default: 10)")
    run.add_argument("--seed", type=_number("seed"), default=0,
                     help=f"random seed, {ARGUMENTS['seed'].words} (default: 0)")
    run.add_argument("--scale", type=_number("scale"), default=1.0,
                     help=f"simulate 1/K of the children, each standing for K, {ARGUMENTS['scale'].words}; totals "
                     "are for the whole city (default: 1, every child)")
    run.add_argument("--out", type=Path, default=None,
                     help="output folder (default: simcity-output/SCENARIO-CITY-seedS)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    compare = commands.add_parser(
        "compare", help="run scenarios over several seeds and compare them with the first, paired",
        description="Run every scenario on the same seeds (replicate i of each on seed S+i), write each run to "
        "the results folder as it finishes, and print each outcome in the final year with its 95% interval and "
        "the paired difference from the first scenario.")
    compare.add_argument("scenarios", nargs="+", help="scenario TOML files or shipped names; the first is the "
                         "reference (e.g. baseline)")
    compare.add_argument("--city", default="salem", help="built-in city name, city TOML path or folder of city CSV "
                         "files (default: salem)")
    compare.add_argument("--seeds", type=_positive, default=5, help="replicates of every scenario (default: 5)")
    compare.add_argument("--seed", type=_number("seed"), default=0, help="first seed (default: 0)")
    compare.add_argument("--years", type=_number("years"), default=10, help="years to simulate (default: 10)")
    compare.add_argument("--scale", type=_number("scale"), default=1.0, help="simulate 1/K of the children "
                         "(default: 1)")
    compare.add_argument("--parameter-draws", type=_whole_number(2), default=None, metavar="N",
                         help="also run every scenario at N draws (a Latin hypercube) of the assumption parameters "
                         "and split each result's spread into seed noise and not knowing the parameters, "
                         "a whole number >= 2 (default: none, intervals over seeds only)")
    compare.add_argument("--spread", type=_fraction, default=None, metavar="S",
                         help="with --parameter-draws: each assumption parameter is drawn within +/- S x its "
                         "default, a number > 0 and <= 1 (default: 0.5)")
    _executor_arguments(compare, "simcity-output/compare-SCENARIOS-CITY")
    experiment = commands.add_parser(
        "experiment", help="run an experiment file (scenarios x design points x seeds) into a results folder",
        description="Run an experiment TOML file (see experiments/), or rerun an earlier experiment from its "
        "manifest.json, writing each run to the results folder as it finishes; print the final year's summary.")
    experiment.add_argument("file", type=Path, help="experiment TOML file, or an earlier results folder's "
                            "manifest.json")
    experiment.add_argument("--seeds", type=_positive, default=None, help="replicates (default: as the file says)")
    experiment.add_argument("--years", type=_number("years"), default=None, help="years (default: as the file says)")
    experiment.add_argument("--samples", type=_positive, default=None,
                            help="design samples (default: as the file says); small values try a big design")
    _executor_arguments(experiment, "simcity-output/experiment-NAME")
    report = commands.add_parser("report", help="write a self-contained HTML report of a results folder",
                                 description="Write FOLDER/report.html: gap trajectories with intervals, paired "
                                 "differences, cost against gap closed, winners and losers, sensitivity indices. "
                                 "It needs no internet to open.")
    report.add_argument("folder", type=Path, help="a results folder written by 'compare' or 'experiment'")
    report.add_argument("--out", type=Path, default=None, help="HTML file (default: FOLDER/report.html)")
    dashboard = commands.add_parser(
        "dashboard", help="serve the cabinet's dashboard (Solara) to a browser",
        description="Serve the interactive dashboard at http://HOST:PORT and keep serving until Ctrl-C. A new "
        "page starts with Salem and the By All Means package against the baseline on 5 seeds. It needs no "
        "internet: the front-end assets are served from this machine.")
    dashboard.add_argument("--host", default="127.0.0.1", help="address to serve on (default: 127.0.0.1, this "
                           "machine only; 0.0.0.0 serves the local network)")
    dashboard.add_argument("--port", type=_port, default=8765, help="port (default: 8765)")
    validate = commands.add_parser(
        "validate", help="compare the model with published figures and write the validation report",
        description="Run the baseline, the strong-summer-loss reading and each programme's scenario on a city over "
        "several seeds, and print, for each published figure, its target range and source, the model's mean with "
        "its 95%% interval over seeds, and whether it is in range; write validation.csv and validation.html.")
    validate.add_argument("--city", default="salem", help="built-in city name, city TOML path or folder of city CSV "
                          "files (default: salem)")
    validate.add_argument("--seeds", type=_positive, default=5, help="seeds (default: 5)")
    validate.add_argument("--years", type=_number("years"), default=10, help="years of each whole run (default: 10)")
    validate.add_argument("--out", type=Path, default=Path("simcity-output/validation"),
                          help="folder for validation.csv and validation.html (default: simcity-output/validation)")
    validate.add_argument("--include", type=Path, default=None, metavar="FILE",
                          help="a parameter file (such as a calibration's fitted.toml) whose values every run takes")
    validate.add_argument("--quiet", action="store_true", help="no progress bar")
    calibrate = commands.add_parser(
        "calibrate", help="fit assumption parameters to target figures and write them as a parameter file",
        description="Fit the parameters a targets file names, within their ranges, to its target figures (a "
        "validation figure's key or an outcome of the baseline): candidates run on common-random-number seeds, a "
        "Latin hypercube then a local search of scipy's (Powell's, or Nelder-Mead) minimise the sum of squared "
        "misses in sds. Writes fitted.toml (a parameter file a scenario includes), fit.csv and evaluations.csv "
        "(every candidate, as it ends).")
    calibrate.add_argument("targets", type=Path, help="targets TOML file (see experiments/calibration/)")
    calibrate.add_argument("--city", default=None, help="built-in city name, city TOML path or folder of city CSV "
                           "files (default: as the file says)")
    calibrate.add_argument("--seeds", type=_positive, default=None, help="seeds (default: as the file says)")
    calibrate.add_argument("--max-evaluations", type=_positive, default=None,
                           help="candidates run in all (default: as the file says)")
    calibrate.add_argument("--workers", type=_positive, default=None,
                           help="processes that run a candidate's seeds (default: every core; 1 runs serially)")
    calibrate.add_argument("--out", type=Path, default=None,
                           help="folder for the fit (default: simcity-output/calibration/NAME)")
    calibrate.add_argument("--resume", action="store_true", help="continue an interrupted fit in --out: candidates "
                           "already run are read back")
    calibrate.add_argument("--quiet", action="store_true", help="no progress bar")
    commands.add_parser("cities", help="list the built-in cities with their pupils and main shares")
    commands.add_parser("scenarios", help="list the shipped scenarios and the question each answers")
    commands.add_parser("parameters", help="print the parameter reference (Markdown): every scenario key with "
                        "its default, unit, allowed range and source")
    return parser


def _whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number >= low (and <= high)."""
    allowed = f">= {low}" if high is None else f"between {low} and {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low or high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be a whole number {allowed} (got {text!r})")
        return value

    return parse


_positive = _whole_number(1)
_port = _whole_number(1, 65535)


def _fraction(text: str) -> float:
    """An argparse type: a number > 0 and <= 1."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 1:  # NaN fails too
        raise argparse.ArgumentTypeError(f"must be a number > 0 and <= 1 (got {text!r})")
    return value


def _executor_arguments(parser: argparse.ArgumentParser, default_out: str) -> None:
    parser.add_argument("--workers", type=_positive, default=None,
                        help="processes of the local pool (default: every core; 1 runs serially)")
    parser.add_argument("--dask", default=None, metavar="ADDRESS",
                        help="run on a Dask cluster: a scheduler's address (tcp://HOST:PORT), or 'local' to start "
                        "a local cluster of --workers processes")
    parser.add_argument("--out", type=Path, default=None, help=f"results folder (default: {default_out})")
    parser.add_argument("--resume", action="store_true", help="finish an interrupted run of the same experiment "
                        "in --out: finished runs are kept, the others are run")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _print_summary(comparison) -> int:
    """Print a finished comparison's final year, sensitivity and frontier; the exit status (1 if a run failed)."""
    import pandas as pd

    from .experiments.comparison import final_year

    plan = comparison.plan
    runs = comparison.runs()
    failed = runs[runs.status == "failed"]
    seeds = f"{len(plan.seeds)} seed{'s' if len(plan.seeds) > 1 else ''}"
    shown = (f"pooled over {len(plan.design.samples)} draws of {len(plan.design.names)} uncertain parameters"
             if plan.pooled else "mean over seeds [95% interval]")
    print(f"\n{plan.name}: {plan.city.name}, {plan.years} years, {seeds}, reference '{plan.reference}'. "
          f"Final year (year {plan.years - 1}), {shown}:")
    with pd.option_context("display.width", 250, "display.max_rows", 200, "display.max_colwidth", 60,
                           "display.float_format", "{:.4g}".format):
        if plan.design is None or plan.pooled or len(plan.design.samples) <= 12:
            print(comparison.summary().to_string())
        else:
            print(f"(a {plan.design.method} design of {len(plan.design.samples)} points: see the report)")
        if plan.pooled:
            print("\nThe final year's spread: seed noise of one run (seed_sd), not knowing the parameters "
                  "(parameter_sd), and that share of a projection's 95% range:")
            print(final_year(comparison.uncertainty()).to_string())
        indices = comparison.sensitivity()
        if len(indices):
            print(f"\nSensitivity of {comparison.primary} ({plan.design.method}), largest first:")
            table = indices[indices.outcome == comparison.primary].pivot_table(
                index="parameter", columns="index", values="value")
            print(table.sort_values(table.columns[-1] if plan.design.method == "sobol" else "mu_star",
                                    ascending=False).head(15).to_string())
        if plan.design is not None and not plan.pooled and len(plan.scenarios) > 1:  # draws are not options
            print(f"\nCost against {comparison.primary} closed in the final year (Pareto-efficient options):")
            frontier = comparison.frontier()
            print(frontier[frontier.efficient].to_string())
    print(f"\n{(runs.status == 'done').sum()} of {len(runs)} runs done, {len(failed)} failed; results in "
          f"{comparison.folder} (HTML report: simcity-kids report {comparison.folder})")
    for row in failed.itertuples():
        print(f"  failed: {row.run_id}: {row.error}")
    return 1 if len(failed) else 0


def _compare(args: argparse.Namespace) -> int:
    from .core.output import safe_name
    from .experiments import compare

    if args.spread is not None and args.parameter_draws is None:
        return _bad_input("--spread: only used with --parameter-draws, whose draws it spreads")
    city = Path(args.city).stem if args.city.endswith(".toml") else Path(args.city).name
    default = "-".join(safe_name(Path(s).stem, "scenario") for s in args.scenarios)[:120]
    out = args.out or Path("simcity-output") / f"compare-{default}-{safe_name(city, 'city')}"
    spread = {} if args.spread is None else {"spread": args.spread}
    return _print_summary(compare(args.scenarios, args.city, seeds=args.seeds, seed=args.seed, years=args.years,
                                  scale=args.scale, workers=args.workers, dask=args.dask, out=out,
                                  resume=args.resume, progress=not args.quiet,
                                  parameter_draws=args.parameter_draws, **spread))


def _experiment(args: argparse.Namespace) -> int:
    from .core.output import safe_name
    from .experiments import Comparison
    from .experiments.plan import load_plan
    from .experiments.runner import run_plan

    plan = load_plan(args.file, seeds=args.seeds, years=args.years, samples=args.samples)
    out = args.out or Path("simcity-output") / f"experiment-{safe_name(plan.name, 'experiment')}"
    run_plan(plan, out, resume=args.resume, workers=args.workers, dask=args.dask, progress=not args.quiet)
    return _print_summary(Comparison(out))


def _report(args: argparse.Namespace) -> int:
    from .experiments.report import write_report

    print(f"Wrote {write_report(args.folder, args.out)}")
    return 0


def _run(args: argparse.Namespace) -> int:
    import pandas as pd

    from .api import run
    from .city.profile import load_city
    from .core.output import check_output_folder, safe_name
    from .scenario import load_scenario

    # Load the files and check the output folder first: a bad --out is found in a second, not after the run.
    scenario, _ = load_scenario(args.scenario)
    city = load_city(args.city)
    out = args.out or (Path("simcity-output")
                       / f"{safe_name(scenario.name, 'scenario')}-{safe_name(city.name, 'city')}-seed{args.seed}")
    check_output_folder(out)
    result = run(scenario, city=city, years=args.years, seed=args.seed, scale=args.scale, progress=not args.quiet)
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


def _validate(args: argparse.Namespace) -> int:
    from .city.profile import load_city
    from .core.validation import check_arguments
    from .experiments.validation import MIN_YEARS, printed, validate, write_report
    from .scenario import parameter_overrides

    check_arguments(years=args.years)
    if args.years < MIN_YEARS:
        return _bad_input(f"--years: must be at least {MIN_YEARS} for the report, which follows learners from one "
                          f"June to the next September (got {args.years})")
    name = load_city(args.city).name  # a bad city or parameter file is said before any run
    overrides = parameter_overrides(args.include) if args.include else None
    table = validate(args.city, seeds=args.seeds, years=args.years, progress=not args.quiet, overrides=overrides)
    print(printed(table))
    try:
        paths = write_report(table, args.out, name, args.seeds, args.years, args.include)
    except OSError as exc:
        return _bad_input(f"--out: cannot write the report in {str(args.out)!r} ({exc.strerror or exc})")
    print(f"\n{int(table.within.sum())} of {len(table)} figures in range. Wrote {', '.join(map(str, paths))}")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from .core.output import safe_name
    from .experiments.calibration import FITTED, calibrate, load_calibration, printed

    calibration = load_calibration(args.targets, city=args.city, seeds=args.seeds,
                                   max_evaluations=args.max_evaluations)
    out = args.out or Path("simcity-output/calibration") / safe_name(calibration.config.name, "calibration")
    if out.exists() and not out.is_dir():
        return _bad_input(f"--out: {str(out)!r} is a file; allowed: a new or empty folder, or this calibration's "
                          "folder with --resume")
    try:
        fit = calibrate(calibration, out, resume=args.resume, workers=args.workers, progress=not args.quiet)
    except OSError as exc:
        return _bad_input(f"--out: cannot write the fit in {str(out)!r} ({exc.strerror or exc})")
    print(printed(fit))
    print(f"\nWrote {out / FITTED} (include it in a scenario), {out / 'fit.csv'}, {out / 'evaluations.csv'}")
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    from .dashboard.server import serve

    return serve(args.host, args.port)


def _cities(_: argparse.Namespace) -> int:
    from .city.profile import builtin_cities, load_city

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


def _scenarios(_: argparse.Namespace) -> int:
    from .scenario import builtin_scenarios, scenario_question

    shipped = builtin_scenarios()
    width = max(len(name) for name in shipped)
    for name, path in shipped.items():
        print(f"{name:{width}}  {scenario_question(path)}")
    return 0


def _parameters(_: argparse.Namespace) -> int:
    from .reference import parameter_reference

    print(parameter_reference(), end="")
    return 0


COMMANDS = {"run": _run, "compare": _compare, "experiment": _experiment, "report": _report,
            "dashboard": _dashboard, "validate": _validate, "calibrate": _calibrate, "cities": _cities,
            "scenarios": _scenarios,
            "parameters": _parameters}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    """The parsed command line; a usage error raises _UsageError."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:  # argparse would say that "command" is required, not which commands there are
        parser.error(f"missing command (choose from {', '.join(repr(c) for c in COMMANDS)})")
    return args


def _bad_input(message: str) -> int:
    print(f"simcity-kids: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: list[str] | None = None) -> int:
    try:
        args = _arguments(argv)
    except _UsageError as exc:
        return _bad_input(str(exc))
    from .core.validation import ConfigError

    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:  # an API argument is shown as the flag that set it
        return _bad_input(f"--{exc.source}: {exc.problem}" if exc.argument else str(exc))


if __name__ == "__main__":
    sys.exit(main())
