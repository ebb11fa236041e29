"""The city's history: a burn-in under the baseline policy, so that year 0 is a steady state.

Children generated from a city profile carry only their readiness endowment; the school years the model's own
rules would have given them (summers, absences, unmet needs, schools of differing value added) are missing, so
an unchanged city would show gaps widening year after year while the oldest cohorts catch up with the rules. The
burn-in runs the generated city under the baseline policy (every scenario lever at its default) for
``population.burn_in_years`` years before September of year 0, in months numbered below zero (so its random
streams are its own), recording nothing. Every pupil in year 0 then has scores that the rules made.

Every rule runs in the burn-in, awareness of programmes spreading over social ties included: with awareness
held at ``access.initial_awareness`` until year 0, the existing slots' take-up would still be rising in year 0 and
the gaps narrowing with it (about 0.04 SD in ten years in Louisville). ``initial_awareness`` is therefore where
the burn-in starts, and year 0's awareness is what the rules make of it.

A burn-in depends only on the city, the seed, the scale and the world's parameters (everything but the policy), so
every scenario on the same seed starts from the same burned-in city: paired comparisons stay paired, and the
burn-in is computed once per seed and kept (:func:`steady_state`, a cache of pickled models in this process;
an experiment passes it to its workers, ``experiments/runner.py``).
"""

from __future__ import annotations

import hashlib
import io
import pickle
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from ..core.params import LEVER

if TYPE_CHECKING:
    from ..model import CityModel
    from ..scenario import ScenarioConfig
    from .profile import CityProfile

CACHE_BYTES = 1_500_000_000  # burned-in cities kept in this process, newest first (a 1M-child city: about 0.4 GB)
_cache: OrderedDict[str, bytes] = OrderedDict()


def baseline_policy(config: ScenarioConfig) -> ScenarioConfig:
    """``config`` with every scenario lever (the programmes' and the cabinet's) at its default: the world of the
    scenario under the policy the city has today."""
    data = config.model_dump()
    data["name"], data["description"] = "burn-in", ""
    sections = [("cabinet", type(config.cabinet), data["cabinet"])]
    sections += [(f"programmes.{name}", type(getattr(config.programmes, name)), values)
                 for name, values in data["programmes"].items()]
    for _, schema, values in sections:
        for key, field in schema.model_fields.items():
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            if extra.get("source") == LEVER:
                values[key] = field.default
    return type(config).model_validate(data)


def history_key(config: ScenarioConfig, city: CityProfile, seed: int, scale: float) -> str:
    """What a burn-in depends on: the world's parameters, the city, the seed and the scale (SHA-256)."""
    text = "|".join([baseline_policy(config).config_hash(), city.model_dump_json(), str(seed), repr(scale)])
    return hashlib.sha256(text.encode()).hexdigest()


def steady_state(config: ScenarioConfig, city: CityProfile, seed: int, scale: float,
                 history: bytes | None = None) -> bytes:
    """The burned-in city for ``config``'s world (a pickled model at the start of year 0): ``history`` when given
    (computed elsewhere, e.g. by an experiment's worker), else this process's cached copy, else a new burn-in."""
    key = history_key(config, city, seed, scale)
    if history is None:
        history = _cache.get(key)
    if history is None:
        history = burn_in(config, city, seed, scale)
    _cache[key] = history
    _cache.move_to_end(key, last=False)
    while len(_cache) > 1 and sum(map(len, _cache.values())) > CACHE_BYTES:
        _cache.popitem()
    return history


def burn_in(config: ScenarioConfig, city: CityProfile, seed: int, scale: float) -> bytes:
    """Generate the city under the baseline policy ``burn_in_years`` before year 0 and run it up to year 0."""
    from ..model import CityModel

    model = CityModel.__new__(CityModel)
    start = -12 * config.population.burn_in_years
    model.build(baseline_policy(config), "burn-in", city, seed, scale, start_month=start)
    while model.month < 0:
        model.advance()
    model.turn_over()
    return snapshot(model)


def snapshot(model: CityModel) -> bytes:
    """The model's state as bytes; the model itself is a reference that :func:`restore` points at its new owner."""
    buffer = io.BytesIO()
    _ModelPickler(buffer, model).dump(model.__dict__)
    return buffer.getvalue()


def restore(model: CityModel, data: bytes) -> None:
    """Give ``model`` (not yet built) the state of a snapshot: its agents and modules refer to ``model``."""
    model.__dict__.update(_ModelUnpickler(io.BytesIO(data), model).load())


class _ModelPickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, model: CityModel):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.model = model

    def persistent_id(self, obj: Any) -> str | None:
        return "model" if obj is self.model else None


class _ModelUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, model: CityModel):
        super().__init__(file)
        self.model = model

    def persistent_load(self, pid: Any) -> CityModel:
        return self.model
