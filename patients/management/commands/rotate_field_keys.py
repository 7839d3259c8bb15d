"""Re-encrypt every encrypted column under the current (first) field-encryption key.

    FIELD_ENCRYPTION_KEYS="k2:<new>,k1:<old>" manage.py rotate_field_keys [--batch-size N]

Models are discovered from the registry: every concrete field that is an
``EncryptedFieldMixin``; and every column declared with ``register_prefixed_column`` (the
password hashes, accounts/passwords.py: ``argon2_enc$`` then the same form; unusable passwords
stay). For each table the command walks the primary key in order (keyset pagination), selecting
only rows where some encrypted column carries another key id, each batch in its own transaction
under ``SELECT ... FOR UPDATE``. Stored values are read with raw SQL on the owner connection, so
key ids are seen without decrypting; each stale value is decrypted with its own key and
encrypted with the current one, for the same column (the AAD).

Copies of rows kept in a jsonb column (``register_json_column``: chart_history.row, each
chart item as stored) are re-encrypted in place the same way, each value with its own table and
column's binding, so that old versions stay readable once the old key is gone. Every batch
transaction sets ``clinic.maintenance = 'key_rotation'``: the chart's history trigger then does
not record the owner's re-encryption of an item as a new version (nothing a reader could see
changed; chart/db_checks.py checks that only encrypted columns changed).

Safe to interrupt and to re-run: a committed batch is entirely on the new key, an interrupted
one is rolled back, and both keys decrypt while both are configured. Re-running skips rows that
are already on the current key. Only once it reports nothing left may the old key be removed.
Errors name the table, column and primary key -- never a value.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections, transaction
from psycopg import sql
from psycopg.types.json import Jsonb

from clinic.encryption import (
    DecryptionError,
    EncryptedFieldMixin,
    JsonColumn,
    current_key_id,
    decrypt_value,
    encrypt_value,
    json_columns,
    key_id_of,
    prefixed_columns,
)

PROGRESS_EVERY_SECONDS = 1.0
# Transaction-local; the chart's history trigger honours it for the owner's login only.
MAINTENANCE_SQL = "SELECT set_config('clinic.maintenance', 'key_rotation', true)"


@dataclass(frozen=True)
class EncryptedTable:
    label: str
    table: str
    pk_column: str
    columns: tuple[str, ...]
    aads: tuple[str, ...]
    # What an encrypted value starts with before its `v1:` form; a value without it is not
    # encrypted (an unusable password) and stays as it is.
    prefix: str = ""

    def stale_condition(self) -> sql.Composed:
        """Some encrypted column is set and names another key id than the current one."""
        conditions = []
        for column in self.columns:
            col = sql.Identifier(column)
            parts = [sql.SQL("{} IS NOT NULL").format(col)]
            if self.prefix:
                parts.append(sql.SQL("starts_with({}, {})").format(col, sql.Literal(self.prefix)))
            parts.append(sql.SQL("split_part({}, ':', 2) <> %(key)s").format(col))
            conditions.append(sql.SQL("(") + sql.SQL(" AND ").join(parts) + sql.SQL(")"))
        return sql.SQL(" OR ").join(conditions)


def encrypted_tables() -> list[EncryptedTable]:
    found = []
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        fields = [f for f in meta.local_concrete_fields if isinstance(f, EncryptedFieldMixin)]
        if fields:
            found.append(
                EncryptedTable(
                    label=meta.label,
                    table=meta.db_table,
                    pk_column=str(meta.pk.column),
                    columns=tuple(str(f.column) for f in fields),
                    aads=tuple(f.aad for f in fields),
                )
            )
    found += [
        EncryptedTable(
            label=column.table,
            table=column.table,
            pk_column=column.pk_column,
            columns=(column.column,),
            aads=(column.aad,),
            prefix=column.prefix,
        )
        for column in prefixed_columns()
    ]
    return sorted(found, key=lambda t: t.table)


def reencrypt(stored: str | None, aad: str, key: str, prefix: str = "") -> str | None:
    if stored is None or not stored.startswith(prefix):
        return stored
    value = stored[len(prefix) :]
    if key_id_of(value) == key:
        return stored
    return prefix + encrypt_value(decrypt_value(value, aad), aad)


def json_stale_condition(column: JsonColumn) -> sql.Composed:
    """Some encrypted value inside the jsonb column names another key id than the current one
    (a missing or null value is not stale: `split_part(NULL, ...)` is NULL)."""
    kinds = []
    for kind, keys in column.keys:
        stale = sql.SQL(" OR ").join(
            sql.SQL("split_part({col} ->> {key}, ':', 2) <> %(key)s").format(
                col=sql.Identifier(column.column), key=sql.Literal(name)
            )
            for name in keys
        )
        kinds.append(
            sql.SQL("({kind} = {table} AND ({stale}))").format(
                kind=sql.Identifier(column.kind_column), table=sql.Literal(kind), stale=stale
            )
        )
    return sql.SQL(" OR ").join(kinds)


def reencrypt_copy(column: JsonColumn, kind: str, row: dict[str, Any], key: str) -> dict:
    """The copied row with every encrypted value of its table under the current key."""
    keys = dict(column.keys).get(kind, ())
    new_row = dict(row)
    for name in keys:
        value = row.get(name)
        if isinstance(value, str):
            new_row[name] = reencrypt(value, column.aad(kind, name), key)
    return new_row


class Command(BaseCommand):
    help = "Re-encrypt encrypted columns still under an old key with the current first key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--database", default="owner")
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count the rows still on an old key."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        using = options["database"]
        key = current_key_id()
        tables = encrypted_tables()
        self.stdout.write(f"Current key: {key}. Tables with encrypted columns: {len(tables)}.")
        grand_total = 0
        for table in tables:
            total = self._count_stale(table, key, using)
            grand_total += total
            columns = ", ".join(table.columns)
            self.stdout.write(f"{table.table} ({columns}): {total} row(s) on an old key")
            if total and not options["dry_run"]:
                self._rotate_table(table, key, using, batch_size, total)
        for column in json_columns():
            total = self._count_json_stale(column, key, using)
            grand_total += total
            self.stdout.write(
                f"{column.table} ({column.column}: copies of "
                f"{', '.join(kind for kind, _keys in column.keys)}): {total} row(s) on an old key"
            )
            if total and not options["dry_run"]:
                self._rotate_json(column, key, using, batch_size, total)
        if options["dry_run"]:
            self.stdout.write(f"Dry run: {grand_total} row(s) would be re-encrypted.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Done: every encrypted value uses key {key}."))

    def _count_stale(self, table: EncryptedTable, key: str, using: str) -> int:
        query = sql.SQL("SELECT count(*) FROM {table} WHERE {stale}").format(
            table=sql.Identifier(table.table), stale=table.stale_condition()
        )
        with connections[using].cursor() as cursor:
            cursor.execute(query.as_string(), {"key": key})
            return int(cursor.fetchone()[0])

    def _rotate_table(
        self, table: EncryptedTable, key: str, using: str, batch_size: int, total: int
    ) -> None:
        select = sql.SQL(
            "SELECT {pk}, {columns} FROM {table} WHERE ({stale}) AND ({after}) "
            "ORDER BY {pk} LIMIT %(limit)s FOR UPDATE"
        )
        update = sql.SQL("UPDATE {table} SET {assignments} WHERE {pk} = %s").format(
            table=sql.Identifier(table.table),
            assignments=sql.SQL(", ").join(
                sql.SQL("{} = %s").format(sql.Identifier(c)) for c in table.columns
            ),
            pk=sql.Identifier(table.pk_column),
        )
        parts = {
            "pk": sql.Identifier(table.pk_column),
            "columns": sql.SQL(", ").join(sql.Identifier(c) for c in table.columns),
            "table": sql.Identifier(table.table),
            "stale": table.stale_condition(),
        }
        first_batch = select.format(after=sql.SQL("true"), **parts).as_string()
        next_batch = select.format(
            after=sql.SQL("{} > %(after)s").format(parts["pk"]), **parts
        ).as_string()
        self._batches(
            table.table,
            (first_batch, next_batch),
            update.as_string(),
            lambda rows: self._new_values(table, key, rows),
            key,
            using,
            batch_size,
            total,
        )

    def _count_json_stale(self, column: JsonColumn, key: str, using: str) -> int:
        query = sql.SQL("SELECT count(*) FROM {table} WHERE {stale}").format(
            table=sql.Identifier(column.table), stale=json_stale_condition(column)
        )
        with connections[using].cursor() as cursor:
            cursor.execute(query.as_string(), {"key": key})
            return int(cursor.fetchone()[0])

    def _rotate_json(
        self, column: JsonColumn, key: str, using: str, batch_size: int, total: int
    ) -> None:
        parts = {
            "pk": sql.Identifier(column.pk_column),
            "kind": sql.Identifier(column.kind_column),
            "column": sql.Identifier(column.column),
            "table": sql.Identifier(column.table),
            "stale": json_stale_condition(column),
        }
        select = sql.SQL(
            "SELECT {pk}, {kind}, {column} FROM {table} WHERE ({stale}) AND ({after}) "
            "ORDER BY {pk} LIMIT %(limit)s FOR UPDATE"
        )
        first_batch = select.format(after=sql.SQL("true"), **parts).as_string()
        next_batch = select.format(
            after=sql.SQL("{} > %(after)s").format(parts["pk"]), **parts
        ).as_string()
        update = sql.SQL("UPDATE {table} SET {column} = %s WHERE {pk} = %s").format(**parts)

        def new_values(rows: Sequence[Sequence[Any]]) -> list[list]:
            updates = []
            for pk, kind, stored in rows:
                row = json.loads(stored) if isinstance(stored, str) else stored
                try:
                    updates.append([Jsonb(reencrypt_copy(column, kind, row, key)), pk])
                except DecryptionError:
                    raise CommandError(
                        f"{column.table}.{column.column} of row {pk} (a copy of {kind}) cannot "
                        "be decrypted with the configured keys (unknown key id, wrong key or "
                        "damaged value). Nothing in this batch was changed."
                    ) from None
            return updates

        self._batches(
            column.table,
            (first_batch, next_batch),
            update.as_string(),
            new_values,
            key,
            using,
            batch_size,
            total,
        )

    def _batches(
        self,
        label: str,
        selects: tuple[str, str],
        update: str,
        new_values: Callable[[Sequence[Sequence[Any]]], list[list]],
        key: str,
        using: str,
        batch_size: int,
        total: int,
    ) -> None:
        """Keyset pagination over the stale rows, each batch in its own transaction (rows
        locked, re-encrypted, written) under the maintenance marker."""
        first_batch, next_batch = selects
        done, started, shown_at = 0, time.monotonic(), 0.0
        last_pk = None
        while True:
            with transaction.atomic(using=using), connections[using].cursor() as cursor:
                cursor.execute(MAINTENANCE_SQL)
                params: dict[str, Any] = {"key": key, "limit": batch_size, "after": last_pk}
                cursor.execute(first_batch if last_pk is None else next_batch, params)
                rows = cursor.fetchall()
                if not rows:
                    break
                cursor.executemany(update, new_values(rows))
            last_pk = rows[-1][0]
            done += len(rows)
            now = time.monotonic()
            if now - shown_at >= PROGRESS_EVERY_SECONDS or done >= total:
                shown_at = now
                rate = done / max(now - started, 1e-6)
                self.stdout.write(f"  {label}: {done}/{total} rows ({rate:,.0f} rows/s)")

    @staticmethod
    def _new_values(table: EncryptedTable, key: str, rows: Sequence[Sequence[Any]]) -> list[list]:
        updates = []
        for pk, *values in rows:
            new_values = []
            for column, aad, stored in zip(table.columns, table.aads, values, strict=True):
                try:
                    new_values.append(reencrypt(stored, aad, key, table.prefix))
                except DecryptionError:
                    # The message of DecryptionError names no value; keep it out anyway.
                    raise CommandError(
                        f"{table.table}.{column} of row {pk} cannot be decrypted with the "
                        "configured keys (unknown key id, wrong key or damaged value). "
                        "Nothing in this batch was changed."
                    ) from None
            updates.append([*new_values, pk])
        return updates
