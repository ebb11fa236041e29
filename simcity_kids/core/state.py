"""Struct-of-arrays state for children and families.

Each person is a row index; each attribute is a numpy array of the same length. Modules register the
arrays they own with :meth:`StateArrays.define`, so removing leavers or adding births keeps every array
aligned without the module having to know.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np


class StateArrays:
    """Named, equally long numpy arrays, read and written as attributes (``children.reading``)."""

    def __init__(self, size: int):
        object.__setattr__(self, "_arrays", {})
        object.__setattr__(self, "_fills", {})
        object.__setattr__(self, "_size", int(size))
        object.__setattr__(self, "_adopting", False)

    def __contains__(self, name: str) -> bool:
        return name in self._arrays

    @contextmanager
    def adopting(self) -> Iterator[None]:
        """Within this block, :meth:`define` keeps arrays that exist (see ``CityModel.adopt_policy``)."""
        object.__setattr__(self, "_adopting", True)
        try:
            yield
        finally:
            object.__setattr__(self, "_adopting", False)

    def define(self, name: str, dtype: Any, fill: Any = 0, values: np.ndarray | None = None) -> np.ndarray:
        """Register an array; ``fill`` is also the value new rows (births) get unless given. While
        :meth:`adopting`, an array already defined is kept as it is (a module rebuilt keeps its history)."""
        if name in self._arrays:
            if self._adopting and self._arrays[name].dtype == np.dtype(dtype):
                return self._arrays[name]
            raise ValueError(f"state array '{name}' is already defined")
        array = np.full(self._size, fill, dtype=dtype) if values is None else np.asarray(values, dtype=dtype)
        if array.shape[0] != self._size:
            raise ValueError(f"'{name}' has {array.shape[0]} rows, expected {self._size}")
        self._arrays[name] = array
        self._fills[name] = fill
        return array

    def __getattr__(self, name: str) -> np.ndarray:
        if name.startswith("_"):  # not an array: also while unpickling, before ``_arrays`` is set
            raise AttributeError(name)
        try:
            return self._arrays[name]
        except KeyError:
            raise AttributeError(f"no state array '{name}'") from None

    def __setattr__(self, name: str, value: Any) -> None:
        array = self._arrays.get(name)
        if array is None:
            raise AttributeError(f"no state array '{name}': define it first")
        if value is not array:  # ``children.x += d`` already changed the array in place
            array[...] = value

    def __len__(self) -> int:
        return self._size

    def turn_over(self, keep: np.ndarray, count: int, **values: np.ndarray) -> None:
        """Drop the rows where ``keep`` is False (leavers) and add ``count`` rows (births) after the others, in one
        copy of each array; arrays not given in ``values`` get their fill value in the new rows."""
        unknown = set(values) - set(self._arrays)
        if unknown:
            raise AttributeError(f"no state arrays {sorted(unknown)}")
        kept = int(np.count_nonzero(keep))
        for name, array in self._arrays.items():
            if name not in values and self._fills[name] == 0 and not array.any():
                self._arrays[name] = np.zeros(kept + count, dtype=array.dtype)  # all zero (a flag out of season)
                continue
            new = np.empty(kept + count, dtype=array.dtype)
            new[:kept] = array[keep]
            new[kept:] = values[name] if name in values else self._fills[name]
            self._arrays[name] = new
        object.__setattr__(self, "_size", kept + int(count))
