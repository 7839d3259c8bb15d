"""An ORM query's SQL compiled once per process, then sent with a request's value in its places.

Building a query with the ORM costs about a millisecond or more of every request that sends
it (the user's load, accounts/backends.py; the patient's rights facts, rights/patient_facts.py)
while its SQL never changes: only one value does. `compile_once` takes the SQL and parameters
the ORM gave for a placeholder value no row has, and notes where that value stands; `params`
puts the request's value there. Every other parameter must be a constant of the query (a
number, a text, an id), never something that depends on the time or the caller, or the query
could not be compiled once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


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
