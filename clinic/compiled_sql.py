"""An ORM query's SQL compiled once per process, then sent with a request's value in its places.

Building a query with the ORM costs about a millisecond or more of every request that sends
it (the user's load, accounts/backends.py; the patient's rights facts, rights/patient_facts.py)
while its SQL never changes: only one value does. `compile_once` takes the SQL and parameters
the ORM gave for a placeholder value no row has, and notes where that value stands; `params`
puts the request's value there. Every other parameter must be a constant of the query (a
number, a text, an id), never something that depends on the time or the caller, or the query
could not be compiled once.

`CompiledRead` does the same for a read of model rows by one key (a patient's chart section):
the queryset is built and compiled on its first call, and every call after sends the SQL as a
raw query, which makes the same model objects (the fields' own conversions, decryption
included; a deferred field stays deferred). A plain ORM read of one patient's rows cost
0.75 ms a call against 0.36 ms this way, most of it building the query (docs/benchmarks.md).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import models

Row = TypeVar("Row", bound=models.Model)
# A key no row has: marks the key's places among a compiled read's parameters.
_READ_PLACEHOLDER = uuid.UUID("00000000-0000-4000-8000-0000000c0de5")


@dataclass(frozen=True)
class CompiledSQL:
    sql: str
    constants: tuple[Any, ...]
    places: tuple[int, ...]

    def params(self, value: Any) -> list[Any]:
        """The parameters with `value` in each of the placeholder's places."""
        params = list(self.constants)
        for index in self.places:
            params[index] = value
        return params


def compile_once(sql: str, params: Sequence[Any], placeholder: Any, *, places: int) -> CompiledSQL:
    """`sql` and `params` as the ORM compiled them for `placeholder`, which must stand in
    exactly `places` of the parameters."""
    for value in params:
        if not isinstance(value, str | int | uuid.UUID):
            raise TypeError(f"a compiled query has a parameter that may change: {type(value)}")
    found = tuple(index for index, value in enumerate(params) if value == placeholder)
    if len(found) != places:
        raise ValueError(f"the placeholder stands in {len(found)} places, not {places}")
    return CompiledSQL(sql, tuple(params), found)


class CompiledRead(Generic[Row]):
    """`build(key)`'s rows for a key, the query compiled once per process. `build` must use
    the key in exactly `places` parameters and nothing that depends on the time or the caller
    (compile_once refuses a parameter of any other type); slicing and ordering are part of the
    SQL."""

    def __init__(self, build: Callable[[Any], models.QuerySet[Row]], *, places: int = 1) -> None:
        self._build = build
        self._places = places
        self._compiled: CompiledSQL | None = None
        self._model: type[Row]
        self._lock = threading.Lock()

    def _compile(self) -> CompiledSQL:
        with self._lock:
            if self._compiled is None:
                queryset = self._build(_READ_PLACEHOLDER)
                self._model = queryset.model
                sql, params = queryset.query.sql_with_params()
                self._compiled = compile_once(sql, params, _READ_PLACEHOLDER, places=self._places)
            return self._compiled

    def __call__(self, key: Any, *, using: str = "default") -> list[Row]:
        compiled = self._compiled or self._compile()
        manager = self._model._default_manager.db_manager(using)
        return list(manager.raw(compiled.sql, compiled.params(uuid.UUID(str(key)))))
