"""Forms every stored value must have, checked by the database on every write (whoever writes):
each encrypted column holds `v1:<key id>:<base64url of nonce, ciphertext and tag>` (or NULL),
never plaintext; each blind-index column holds 32 lowercase hex digits (or NULL).

Found from the models (every EncryptedFieldMixin field, every `*_bidx` column), so a new
encrypted column is checked without a line here. The constraints are the database's own (Django
does not track them); provisioning adds them NOT VALID, validates them, and marks each with a
hash of its condition, so a changed condition is replaced and a second run changes nothing.
A form check cannot tell ciphertext from text shaped like it: it stops plaintext written by
mistake or by hand, and the PHI scan (tests/test_phi_sentinel_scan.py) looks for the rest.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql

from clinic import roles
from clinic.encryption import FORMAT_VERSION, EncryptedFieldMixin
from clinic.provisioning import _execute, _fingerprint, ensure_functions, register_step

# 12-byte nonce + 16-byte tag at least: 28 bytes, 38 base64url characters.
CIPHERTEXT = f"^{FORMAT_VERSION}:[A-Za-z0-9_-]{{1,32}}:[A-Za-z0-9_-]{{38,}}$"
DIGEST = "^[0-9a-f]{32}$"


def stored_form_checks() -> dict[tuple[str, str], str]:
    """(table, constraint name) -> condition, for every encrypted and blind-index column."""
    checks: dict[tuple[str, str], str] = {}
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        table = model._meta.db_table
        for field in model._meta.concrete_fields:
            column = field.column or ""
            if isinstance(field, EncryptedFieldMixin):
                pattern = CIPHERTEXT
            elif column.endswith("_bidx"):
                pattern = DIGEST
            else:
                continue
            condition = f"{column} IS NULL OR {column} ~ '{pattern}'"
            checks[(table, f"{table}_{column}_form")] = condition
    return checks


def ensure_check(
    connection: BaseDatabaseWrapper, table: str, name: str, condition: str
) -> list[str]:
    """A CHECK constraint `name` on `table` with `condition`, idempotently (marked by a hash)."""
    done: list[str] = []
    mark = _fingerprint(condition)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(c.oid, 'pg_constraint') FROM pg_constraint c "
            "WHERE c.conrelid = %s::regclass AND c.conname = %s",
            [table, name],
        )
        row = cursor.fetchone()
        if row is not None and row[0] == mark:
            return done
        names = {"table": sql.Identifier(table), "name": sql.Identifier(name)}
        if row is not None:
            _execute(
                cursor, done, sql.SQL("ALTER TABLE {table} DROP CONSTRAINT {name}").format(**names)
            )
        _execute(
            cursor,
            done,
            sql.SQL(
                "ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({condition}) NOT VALID"
            ).format(condition=sql.SQL(condition), **names),
        )
        _execute(
            cursor, done, sql.SQL("ALTER TABLE {table} VALIDATE CONSTRAINT {name}").format(**names)
        )
        _execute(
            cursor,
            done,
            sql.SQL("COMMENT ON CONSTRAINT {name} ON {table} IS {mark}").format(
                mark=sql.Literal(mark), **names
            ),
        )
    return done


def sql_strings(values: Iterable[str]) -> str:
    """Constants of the code (status codes, reason categories, role names; never input) as a
    list of SQL string literals for `IN (...)`."""
    return ", ".join(f"'{value}'" for value in values)


# How a write check refuses: a check violation with a message that names the rule, no values.
#: "Now", as a write check accepts a recorded time: a little before (a slow request's own clock
#: read) and a moment after (clock skew between the app and the database), never days away.
NOW_WINDOW = "now() - interval '5 minutes' AND now() + interval '1 minute'"
REFUSE = "RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE ="


def check_function(name: str, body: str) -> str:
    """The CREATE statement of a row trigger function `name` that runs `body` (plpgsql, ending
    each refused case with REFUSE) for every role but the owner, whose maintenance (migrations,
    key rotation, demo data) is exempt. The row it lets through is NEW, or OLD for a DELETE
    (a BEFORE DELETE trigger that returned NEW, which is NULL there, would skip the delete)."""
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $fn$
BEGIN
    IF current_user <> '{roles.OWNER_ROLE}' THEN
{body}
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$fn$"""


def ensure_trigger_function(
    connection: BaseDatabaseWrapper, function: str, body: str, table: str, trigger: str, events: str
) -> list[str]:
    """`body` is the CREATE OR REPLACE FUNCTION statement of `function`(); a BEFORE `events`
    trigger `trigger` on `table` runs it FOR EACH ROW."""
    names = {
        "table": sql.Identifier(table),
        "trigger": sql.Identifier(trigger),
        "function": sql.Identifier(function),
    }
    with connection.cursor() as cursor:
        statements = [
            body,
            sql.SQL("DROP TRIGGER IF EXISTS {trigger} ON {table}")
            .format(**names)
            .as_string(cursor.connection),
            sql.SQL(
                "CREATE TRIGGER {trigger} BEFORE " + events + " ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION {function}()"
            )
            .format(**names)
            .as_string(cursor.connection),
        ]
    return ensure_functions(connection, f"{function}()", statements)


@register_step(order=30)
def stored_forms(connection: BaseDatabaseWrapper) -> list[str]:
    done: list[str] = []
    for (table, name), condition in sorted(stored_form_checks().items()):
        done += ensure_check(connection, table, name, condition)
    return done
