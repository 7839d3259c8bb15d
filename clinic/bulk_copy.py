"""Bulk loading of model rows with PostgreSQL's COPY, for the owner's maintenance (demo data).

Each value goes through its field's own `get_db_prep_save`, exactly as `bulk_create` would send
it: encrypted fields are encrypted with the real keys and associated data, defaults and
`auto_now` timestamps are filled in, and a column another app adds later is included without
changing this code. COPY then moves thousands of rows a second where a multi-row INSERT of the
same rows spends most of its time parsing parameters.

The rows are copied into a temporary table and inserted from it in one statement: PostgreSQL
refuses COPY into a table under forced row-level security, and the INSERT goes through the
table's policies, triggers and checks like any other. `ignore_conflicts=True` adds
`ON CONFLICT DO NOTHING` (a demo MRN may collide with one a real registration drew at random).
Must run inside a transaction on `using`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connections
from django.db.models import Model
from psycopg import sql

OWNER = "owner"


def copy_models(
    model: type[Model],
    objects: Iterable[Model],
    *,
    using: str = OWNER,
    ignore_conflicts: bool = False,
) -> int:
    """Write `objects` (unsaved instances of `model`) with COPY; returns the rows written."""
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("copy_models runs inside transaction.atomic(using=...)")
    # Not the serial keys: the database numbers those.
    fields = [field for field in model._meta.concrete_fields if not field.db_returning]
    columns = sql.SQL(", ").join([sql.Identifier(str(field.column)) for field in fields])
    table = sql.Identifier(model._meta.db_table)
    staging = sql.Identifier(f"bulk_copy_{model._meta.db_table}")
    conflicts = sql.SQL(" ON CONFLICT DO NOTHING" if ignore_conflicts else "")
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
                staging, columns, table
            )
        )
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(staging, columns)
        with cursor.copy(statement) as copy:
            for instance in objects:
                copy.write_row(
                    [
                        field.get_db_prep_save(field.pre_save(instance, True), connection)
                        for field in fields
                    ]
                )
        cursor.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}{}").format(
                table, columns, columns, staging, conflicts
            )
        )
        written = cursor.rowcount
        cursor.execute(sql.SQL("DROP TABLE {}").format(staging))
        return written
