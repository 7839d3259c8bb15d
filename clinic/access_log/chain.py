"""Walk the access log's hash chain and report the first broken link (see database.py).

`verify_chain` reads the whole chain (any role that may read the log); `verify_and_checkpoint`
asks the database's verifier to walk from the last verified checkpoint, or from the first row,
and to record the head it found intact (checkpoint.py: why that checkpoint can be trusted).

A row is intact when its stored hash equals the hash recomputed from its content and its
prev_hash equals the hash of the row before it (the first row's prev_hash is the genesis value).
An edited row fails the first check; a deleted or reordered row fails the second. Deleting the
newest rows leaves an intact but shorter chain, which is why the head is anchored elsewhere
(`access_log_head`) and checked with `verify_access_log --anchor ID:HASH`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import connections

from clinic.access_log.database import FIRST_ID, GENESIS, VERIFY_QUERY

BATCH_SIZE = 10_000
HEAD_QUERY = "SELECT id, hash, occurred_at FROM access_log ORDER BY id DESC LIMIT 1"


@dataclass
class ChainReport:
    rows_checked: int
    seconds: float
    broken_id: int | None = None
    problem: str = ""
    head_id: int | None = None
    head_hash: str = GENESIS
    start_id: int = 0  # the walk began after this id (0: at the first row)
    checkpointed: bool = False

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify_chain(using: str = "owner", batch_size: int = BATCH_SIZE) -> ChainReport:
    started = time.monotonic()
    previous_hash, last_id, checked = GENESIS, 0, 0
    next_id = FIRST_ID
    with connections[using].cursor() as cursor:
        while True:
            cursor.execute(VERIFY_QUERY, [next_id, batch_size])
            rows = cursor.fetchall()
            for row_id, prev_hash, stored_hash, computed in rows:
                checked += 1
                problem = ""
                if prev_hash != previous_hash:
                    problem = "prev_hash does not match the previous row (deleted or reordered)"
                elif computed != stored_hash:
                    problem = "content does not match its hash (edited)"
                if problem:
                    return ChainReport(
                        checked, time.monotonic() - started, row_id, problem, last_id or None
                    )
                previous_hash, last_id = stored_hash, row_id
                next_id = row_id + 1
            if len(rows) < batch_size:
                break
    return ChainReport(
        checked, time.monotonic() - started, head_id=last_id or None, head_hash=previous_hash
    )


VERIFY_SQL = "SELECT * FROM access_log_verify(%s)"


def verify_and_checkpoint(using: str = "owner", full: bool = False) -> ChainReport:
    """From the last checkpoint (or `full`: from the first row) to the head, in one statement of
    the SECURITY DEFINER verifier, which writes a new checkpoint when every link holds."""
    started = time.monotonic()
    with connections[using].cursor() as cursor:
        cursor.execute(VERIFY_SQL, [full])
        checked, broken_id, problem, start_id, head_id, head_hash, checkpointed = cursor.fetchone()
    return ChainReport(
        checked,
        time.monotonic() - started,
        broken_id,
        problem or "",
        head_id,
        head_hash or GENESIS,
        start_id or 0,
        bool(checkpointed),
    )


def anchor_holds(anchor_id: int, anchor_hash: str, using: str = "owner") -> bool:
    """The anchored row still exists with the anchored hash (the tail was not cut off)."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT hash FROM access_log WHERE id = %s", [anchor_id])
        row = cursor.fetchone()
    return row is not None and row[0] == anchor_hash


def chain_head(using: str = "owner") -> tuple[int, str, object] | None:
    with connections[using].cursor() as cursor:
        cursor.execute(HEAD_QUERY)
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1], row[2])
