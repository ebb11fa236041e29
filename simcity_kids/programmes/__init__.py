"""Programmes: the levers a scenario switches on, one file each, found through a registry.

A programme file defines a :class:`~simcity_kids.programmes.base.Programme` subclass with a ``name`` and a
``config_class`` and decorates it with :func:`register`. Importing this package imports every module in it, so
the scenario schema (``[programmes.<name>]``), ``CityModel`` and the parameter reference all see a new programme
without a list to edit. Within a month programmes run by ``stage`` (referrals before services), then by name.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Programme

REGISTRY: dict[str, type[Programme]] = {}
_INFRASTRUCTURE = {"base", "referrals", "services"}  # shared mechanisms, not programmes


def register(cls: type[Programme]) -> type[Programme]:
    """Class decorator: make a programme known to the scenario schema, the model and the docs."""
    if cls.name in REGISTRY and REGISTRY[cls.name] is not cls:
        raise ValueError(f"two programmes are named '{cls.name}'")
    REGISTRY[cls.name] = cls
    return cls


def registered() -> list[type[Programme]]:
    """Every programme class, in the order they run within a month."""
    return sorted(REGISTRY.values(), key=lambda cls: (cls.stage, cls.name))


for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _INFRASTRUCTURE:
        import_module(f"{__name__}.{_module.name}")
