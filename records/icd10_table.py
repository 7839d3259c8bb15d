"""The ICD-10-CM code set in the database, so the database itself refuses a visit whose
diagnosis is not a billable code (records/db_checks.py), whoever writes it.

`icd10_cm_codes` (records.Icd10Code) holds every billable (leaf) code of the offline code set the
application validates with (`simple-icd-10-cm`, records/icd10.py), in the dotted form the visit
form stores. Provisioning loads it, and loads it again only when the code set changes: the
table's comment names the package version and the number of codes. No application role reads
the table; the write check asks `clinic_icd10_billable(code)`, a SECURITY DEFINER function of
the owner that any role may call (whether a code is billable is no secret). The code set is
public reference data, not PHI.
"""

from __future__ import annotations

import importlib.metadata

from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql

from clinic.provisioning import ensure_functions

TABLE = "icd10_cm_codes"
PACKAGE = "simple-icd-10-cm"

BILLABLE_FUNCTION = (
    "CREATE OR REPLACE FUNCTION clinic_icd10_billable(code text) RETURNS boolean "
    "LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, public AS "
    "$fn$ SELECT EXISTS (SELECT 1 FROM public.icd10_cm_codes c WHERE c.code = $1) $fn$"
)


def billable_codes() -> list[str]:
    """Every billable code of the installed code set, dotted (e.g. 'E11.9'), sorted."""
    from records.icd10 import icd

    # A few codes (B20, F99...) are listed twice (as a block and as its one category).
    return sorted({code for code in icd.get_all_codes(True) if icd.is_leaf(code)})


def code_set_mark(count: int) -> str:
    return f"{PACKAGE} {importlib.metadata.version(PACKAGE)}: {count} billable codes"


def ensure_code_table(connection: BaseDatabaseWrapper) -> list[str]:
    """Load the code set unless the table already holds this version of it; then the function
    the write check calls. Returns the statements run (none of them lists the codes)."""
    done: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description(to_regclass(%s), 'pg_class')", [TABLE])
        stored = cursor.fetchone()[0]
        version = importlib.metadata.version(PACKAGE)
        if stored is None or not stored.startswith(f"{PACKAGE} {version}:"):
            codes = billable_codes()
            table = sql.Identifier(TABLE)
            cursor.execute(sql.SQL("DELETE FROM {}").format(table))
            with cursor.connection.cursor().copy(
                sql.SQL("COPY {} (code) FROM STDIN").format(table)
            ) as copy:
                for code in codes:
                    copy.write_row((code,))
            mark = code_set_mark(len(codes))
            cursor.execute(
                sql.SQL("COMMENT ON TABLE {} IS {}")
                .format(table, sql.Literal(mark))
                .as_string(cursor.connection)
            )
            done.append(f"-- {TABLE}: loaded {mark}")
    return done + ensure_functions(connection, "clinic_icd10_billable(text)", [BILLABLE_FUNCTION])
