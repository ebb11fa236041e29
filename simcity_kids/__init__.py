"""simcity-kids: compare citywide interventions for children by their projected effect on achievement gaps.

Public API::

    import simcity_kids as sk
    result = sk.run("universal_summer", city="salem", years=10, seed=1)
    print(result.gaps())
    comparison = sk.compare(["baseline", "universal_summer"], city="salem", seeds=5)
    print(comparison.summary())

Imports are lazy so that the command line starts fast.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("simcity-kids")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

_EXPORTS = {
    "run": "api", "RunResult": "api",
    "compare": "experiments", "run_experiment": "experiments", "run_one": "experiments", "Comparison": "experiments",
    "CityModel": "model",
    "ScenarioConfig": "scenario", "load_scenario": "scenario",
    "CityProfile": "city.profile", "load_city": "city.profile", "builtin_cities": "city.profile",
    "synthetic_city": "city.profile",
    "ConfigError": "core.validation",
}
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'simcity_kids' has no attribute '{name}'")
