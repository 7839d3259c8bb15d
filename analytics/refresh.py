"""Refresh the analytics rollups (materialized views) and the code -> chapter map.

Runs on the owner connection. Each view is refreshed with `REFRESH MATERIALIZED VIEW
CONCURRENTLY` as its owner (`SET LOCAL ROLE clinic_analytics_owner`), so dashboards keep reading
the previous contents while it runs; its unique index makes that possible. The time of the
run is written to `analytics_refresh_log`, which the dashboards show as "data as of".
"""

from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Callable, Iterator
from functools import lru_cache

from django.db import connections, transaction
from django.utils import timezone
from psycopg import sql

from analytics.db_grants import CHAPTERS_TABLE, MATERIALIZED_VIEWS, OWNER
from analytics.models import RefreshLog
from records.icd10_table import PACKAGE

Progress = Callable[[str], None]


@lru_cache(maxsize=1)
def chapter_map() -> dict[str, str]:
    """Every ICD-10-CM code (no dot) -> its chapter number, from simple-icd-10-cm."""
    # Imported here: parsing the code set takes seconds, and a refresh rarely needs it.
    import simple_icd_10_cm as icd

    mapping: dict[str, str] = {}
    for chapter in icd.get_all_codes(with_dots=False):
        if icd.is_chapter(chapter):
            for code in icd.get_descendants(chapter):
                mapping[code.replace(".", "")] = chapter
    return mapping


def _chapter_rows() -> Iterator[tuple[str, str]]:
    yield from sorted(chapter_map().items())


def _chapter_map_mark(count: int) -> str:
    return f"{PACKAGE} {importlib.metadata.version(PACKAGE)}: {count} codes"


def fill_chapter_map(using: str = "owner") -> int:
    """(Re)fill analytics_icd10_chapters when it does not hold this version of the code set (the
    table's comment names it and the number of rows); rows written."""
    table = sql.Identifier(CHAPTERS_TABLE)
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(to_regclass(%s), 'pg_class'), "
            "(SELECT count(*) FROM analytics_icd10_chapters)",
            [CHAPTERS_TABLE],
        )
        stored, rows = cursor.fetchone()
        if stored == _chapter_map_mark(rows):
            return 0
        mapping = chapter_map()
        cursor.execute(sql.SQL("DELETE FROM {}").format(table))
        copy = sql.SQL("COPY {} (code, chapter) FROM STDIN").format(table)
        with cursor.copy(copy) as writer:
            for row in _chapter_rows():
                writer.write_row(row)
        mark = _chapter_map_mark(len(mapping))
        cursor.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(table, sql.Literal(mark)))
    return len(mapping)


def refresh_view(view: str, using: str = "owner") -> float:
    """Refresh one rollup without blocking its readers; returns the seconds it took."""
    started = time.perf_counter()
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(OWNER)))
        cursor.execute("SELECT relispopulated FROM pg_class WHERE oid = %s::regclass", [view])
        # CONCURRENTLY needs a populated view; an unpopulated one (just restored) has no readers.
        concurrently = sql.SQL("CONCURRENTLY ") if cursor.fetchone()[0] else sql.SQL("")
        cursor.execute(
            sql.SQL("REFRESH MATERIALIZED VIEW {}{}").format(concurrently, sql.Identifier(view))
        )
    return time.perf_counter() - started


def refresh_all(using: str = "owner", progress: Progress | None = None) -> float:
    """Chapter map, then every rollup, then the refresh log; returns the total seconds."""
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    written = fill_chapter_map(using)
    say(
        f"ICD-10-CM chapter map: {written} codes written"
        if written
        else "ICD-10-CM chapter map: up to date"
    )
    for number, view in enumerate(MATERIALIZED_VIEWS, start=1):
        say(f"[{number}/{len(MATERIALIZED_VIEWS)}] refreshing {view} ...")
        seconds = refresh_view(view, using)
        say(f"[{number}/{len(MATERIALIZED_VIEWS)}] {view} refreshed in {seconds:.2f} s")
    total = time.perf_counter() - started
    RefreshLog.objects.using(using).create(refreshed_at=timezone.now(), duration_seconds=total)
    return total
