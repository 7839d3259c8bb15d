"""Small-cell suppression in the database: the analyst's role reads no count from 1 to 10.

The rollups (analytics/db_grants.py) hold raw counts and only their owner reads them. The
analyst's role reads the dashboards' tables through two functions owned by the same role,
`analytics_visit_panels(first month, last month, chapter, provider)` and
`analytics_patient_panels()`, which aggregate the rollups as the dashboards need and suppress
every table before it leaves the database. The rule (docs/analytics.md) is the CMS cell-size
rule, here and nowhere else:

- primary: every count from 1 to 10 is hidden; zero is shown;
- complementary: a table's total is known, so while the hidden cells would let a reader pin a
  hidden small count to one value (a "<11" cell lies in 1..10, a "*" cell between 11 and the
  smallest count still shown), or add up to 1..10, the smallest non-zero count still shown is
  hidden as well (the first of equal ones);
- a table no choice of cells protects is withheld (its total alone is shown); a total from 1 to
  10 hides every non-zero cell and the total itself.

Each function returns rows `(panel, place, key, shown, status)`: place 0 is the table's total
(status "withheld" when the table is withheld), places 1.. its cells in the page's order;
`shown` is NULL for every hidden count. Both return nothing unless the request's verified role
(clinic_staff_role(), clinic/staff_identity.py) is the analyst's, and only the analyst's role
may call them: another group's request switched to the analyst's role, or a request before
sign-in, reads nothing (the role gate of clinic/role_gate.py, for functions).
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

import analytics.appointment_panels  # noqa: F401  (its table function, found with these)
from analytics.db_grants import (
    AGE_BAND_ORDER,
    ANALYST,
    CODES_ROLLUP,
    OWNER,
    PANEL_COLUMNS,
    PANEL_DEFINER,
    PANEL_GATE,
    PATIENTS_ROLLUP,
    PROVIDER_CODES_ROLLUP,
    PROVIDERS_SQL,
    VISITS_ROLLUP,
)
from clinic.provisioning import ensure_functions, register_step, revoke_other_executors

SMALL_MAX = 10
TOP_CODES = 10
OTHER_CODES = "other"

VISIT_PANELS_NAME = "analytics_visit_panels"
PATIENT_PANELS_NAME = "analytics_patient_panels"
VISIT_PANELS = f"{VISIT_PANELS_NAME}(date,date,text,integer)"
PATIENT_PANELS = f"{PATIENT_PANELS_NAME}()"
_DERIVABLE = "analytics_hidden_derivable(bigint[],text[],bigint)"
_SUPPRESS = "analytics_suppress(bigint[])"
_CELLS = "analytics_suppressed_cells(text,text[],bigint[])"

# Bounds from what a reader knows, summed once: O(n) per check.
DERIVABLE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION analytics_hidden_derivable(
    p_counts bigint[], p_statuses text[], p_total bigint) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog AS $fn$
DECLARE
    n integer := coalesce(array_length(p_counts, 1), 0);
    hidden_sum bigint := p_total;
    smallest_shown double precision := 'Infinity';
    any_hidden boolean := false;
    sum_lo double precision := 0;
    sum_hi double precision := 0;
    i integer;
BEGIN
    FOR i IN 1..n LOOP
        IF p_statuses[i] = '' THEN
            hidden_sum := hidden_sum - p_counts[i];
            IF p_counts[i] > 0 AND p_counts[i] < smallest_shown THEN
                smallest_shown := p_counts[i];
            END IF;
        ELSE
            any_hidden := true;
        END IF;
    END LOOP;
    IF NOT any_hidden THEN
        RETURN false;
    END IF;
    IF hidden_sum BETWEEN 1 AND {SMALL_MAX} THEN
        RETURN true;
    END IF;
    FOR i IN 1..n LOOP
        IF p_statuses[i] = 'primary' THEN
            sum_lo := sum_lo + 1;
            sum_hi := sum_hi + {SMALL_MAX};
        ELSIF p_statuses[i] <> '' THEN
            sum_lo := sum_lo + {SMALL_MAX + 1};
            sum_hi := sum_hi + smallest_shown;
        END IF;
    END LOOP;
    FOR i IN 1..n LOOP
        -- A hidden small count is pinned down when the others' bounds leave it one value.
        IF p_statuses[i] = 'primary'
           AND least({SMALL_MAX}, hidden_sum - (sum_lo - 1))
               - greatest(1, hidden_sum - (sum_hi - {SMALL_MAX})) < 1 THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END
$fn$"""

SUPPRESS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION analytics_suppress(
    p_counts bigint[], OUT statuses text[], OUT total_status text, OUT withheld boolean)
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, public AS $fn$
DECLARE
    n integer := coalesce(array_length(p_counts, 1), 0);
    total bigint := 0;
    best integer;
    i integer;
BEGIN
    withheld := false;
    total_status := '';
    statuses := array_fill(''::text, ARRAY[n]);
    FOR i IN 1..n LOOP
        total := total + p_counts[i];
    END LOOP;
    IF total BETWEEN 1 AND {SMALL_MAX} THEN
        -- Every non-zero cell is small too: nothing but zeros can be shown.
        FOR i IN 1..n LOOP
            IF p_counts[i] <> 0 THEN
                statuses[i] := 'primary';
            END IF;
        END LOOP;
        total_status := 'primary';
        RETURN;
    END IF;
    FOR i IN 1..n LOOP
        IF p_counts[i] BETWEEN 1 AND {SMALL_MAX} THEN
            statuses[i] := 'primary';
        END IF;
    END LOOP;
    WHILE analytics_hidden_derivable(p_counts, statuses, total) LOOP
        best := NULL;
        FOR i IN 1..n LOOP
            IF p_counts[i] > 0 AND statuses[i] = ''
               AND (best IS NULL OR p_counts[i] < p_counts[best]) THEN
                best := i;
            END IF;
        END LOOP;
        IF best IS NULL THEN
            FOR i IN 1..n LOOP
                statuses[i] := CASE WHEN p_counts[i] <> 0 THEN 'primary' ELSE '' END;
            END LOOP;
            withheld := true;
            RETURN;
        END IF;
        statuses[best] := 'complementary';
    END LOOP;
END
$fn$"""

# plpgsql, not SQL: its plans are cached for the session (a SQL function's are made per call).
CELLS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION analytics_suppressed_cells(
    p_panel text, p_keys text[], p_counts bigint[]) RETURNS TABLE ({PANEL_COLUMNS})
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, public AS $fn$
DECLARE
    n integer := coalesce(array_length(p_counts, 1), 0);
    result record;
    total bigint := 0;
    i integer;
BEGIN
    SELECT * INTO result FROM analytics_suppress(coalesce(p_counts, '{{}}'));
    FOR i IN 1..n LOOP
        total := total + p_counts[i];
    END LOOP;
    panel := p_panel;
    place := 0;
    key := NULL;
    shown := CASE WHEN result.total_status = '' THEN total END;
    status := CASE WHEN result.withheld THEN 'withheld' ELSE result.total_status END;
    RETURN NEXT;
    IF result.withheld THEN
        RETURN;
    END IF;
    FOR i IN 1..n LOOP
        place := i;
        key := p_keys[i];
        shown := CASE WHEN result.statuses[i] = '' THEN p_counts[i] END;
        status := result.statuses[i];
        RETURN NEXT;
    END LOOP;
END
$fn$"""

_GATE = PANEL_GATE
_DEFINER = PANEL_DEFINER

# The dashboards' visit tables: months (every month of the range, zeros too), chapters (by
# number, unknown last), top codes plus "all other codes", providers (by name, as Python sorts
# strings). One scan of the visits rollup, as before.
VISIT_PANELS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION analytics_visit_panels(
    p_first_month date, p_last_month date, p_chapter text, p_provider_id integer)
RETURNS TABLE ({PANEL_COLUMNS})
LANGUAGE plpgsql {_DEFINER} AS $fn$
#variable_conflict use_column
DECLARE
    filters text := 'month BETWEEN $1 AND $2';
    month_keys text[];
    month_counts bigint[];
    chapter_keys text[];
    chapter_counts bigint[];
    provider_keys text[];
    provider_counts bigint[];
    code_keys text[];
    code_chapters text[];
    code_counts bigint[];
    chapter_table record;
    kept boolean[];
    listed bigint;
    smallest integer;
    total bigint := 0;
    i integer;
    j integer;
BEGIN
    {_GATE}
    IF coalesce(p_chapter, '') <> '' THEN
        filters := filters || ' AND chapter = $3';
    END IF;
    IF p_provider_id IS NOT NULL THEN
        filters := filters || ' AND provider_id = $4';
    END IF;
    EXECUTE format($q$
        WITH g AS (
            SELECT month, chapter, provider_id, sum(visits)::bigint AS n,
                   GROUPING(month) AS gm, GROUPING(chapter) AS gc
            FROM {VISITS_ROLLUP} WHERE %s
            GROUP BY GROUPING SETS ((month), (chapter), (provider_id))
        ), months AS (
            SELECT m::date AS month FROM generate_series(
                date_trunc('month', $1::timestamp), $2::timestamp, interval '1 month') m
        ), names AS ({PROVIDERS_SQL}
        ), chapters AS (
            SELECT chapter, n FROM g WHERE gm = 1 AND gc = 0
        ), providers AS (
            SELECT g.provider_id, g.n,
                   coalesce(p.display_name, 'Provider ' || g.provider_id) COLLATE "C" AS name
            FROM g LEFT JOIN names p ON p.provider_id = g.provider_id
            WHERE g.gm = 1 AND g.gc = 1
        )
        SELECT
            (SELECT array_agg(to_char(m.month, 'YYYY-MM-DD') ORDER BY m.month) FROM months m),
            (SELECT array_agg(coalesce(g.n, 0) ORDER BY m.month)
             FROM months m LEFT JOIN g ON g.gm = 0 AND g.month = m.month),
            (SELECT array_agg(chapter ORDER BY chapter = '', nullif(chapter, '')::integer)
             FROM chapters),
            (SELECT array_agg(n ORDER BY chapter = '', nullif(chapter, '')::integer)
             FROM chapters),
            (SELECT array_agg(provider_id::text ORDER BY name, provider_id) FROM providers),
            (SELECT array_agg(n ORDER BY name, provider_id) FROM providers)
    $q$, filters)
    INTO month_keys, month_counts, chapter_keys, chapter_counts, provider_keys, provider_counts
    USING p_first_month, p_last_month, p_chapter, p_provider_id;
    FOR i IN 1..coalesce(array_length(month_counts, 1), 0) LOOP
        total := total + month_counts[i];
    END LOOP;

    -- Top codes: the most frequent with at least 11 visits.
    EXECUTE format($q$
        SELECT array_agg(diagnosis_code ORDER BY n DESC, diagnosis_code),
               array_agg(chapter ORDER BY n DESC, diagnosis_code),
               array_agg(n ORDER BY n DESC, diagnosis_code)
        FROM (SELECT diagnosis_code, chapter, sum(visits)::bigint AS n FROM %I WHERE %s
              GROUP BY 1, 2 HAVING sum(visits) > {SMALL_MAX} ORDER BY n DESC, 1 LIMIT {TOP_CODES}) t
    $q$, CASE WHEN p_provider_id IS NULL THEN '{CODES_ROLLUP}' ELSE '{PROVIDER_CODES_ROLLUP}' END,
       filters)
    INTO code_keys, code_chapters, code_counts
    USING p_first_month, p_last_month, p_chapter, p_provider_id;
    code_keys := coalesce(code_keys, '{{}}');
    kept := array_fill(true, ARRAY[coalesce(array_length(code_keys, 1), 0)]);

    -- A chapter's shown count minus its listed codes tells the reader the rest of the chapter:
    -- drop that chapter's smallest listed code while the rest would be 1..10.
    chapter_table := analytics_suppress(coalesce(chapter_counts, '{{}}'));
    IF NOT chapter_table.withheld THEN
        FOR i IN 1..coalesce(array_length(chapter_keys, 1), 0) LOOP
            CONTINUE WHEN chapter_table.statuses[i] <> '';
            LOOP
                listed := NULL;
                smallest := NULL;
                FOR j IN 1..coalesce(array_length(code_keys, 1), 0) LOOP
                    IF kept[j] AND code_chapters[j] = chapter_keys[i] THEN
                        listed := coalesce(listed, 0) + code_counts[j];
                        IF smallest IS NULL OR code_counts[j] < code_counts[smallest] THEN
                            smallest := j;
                        END IF;
                    END IF;
                END LOOP;
                EXIT WHEN listed IS NULL
                    OR NOT (chapter_counts[i] - listed BETWEEN 1 AND {SMALL_MAX});
                kept[smallest] := false;
            END LOOP;
        END LOOP;
    END IF;
    listed := 0;
    FOR j IN REVERSE coalesce(array_length(code_keys, 1), 0)..1 LOOP
        IF kept[j] THEN
            listed := listed + code_counts[j];
        ELSE
            code_keys := code_keys[:j - 1] || code_keys[j + 1:];
            code_counts := code_counts[:j - 1] || code_counts[j + 1:];
        END IF;
    END LOOP;

    RETURN QUERY
        SELECT * FROM analytics_suppressed_cells('months', month_keys, month_counts)
        UNION ALL
        SELECT * FROM analytics_suppressed_cells('chapters', chapter_keys, chapter_counts)
        UNION ALL
        SELECT * FROM analytics_suppressed_cells(
            'codes', code_keys || '{OTHER_CODES}'::text, code_counts || (total - listed))
        UNION ALL
        SELECT * FROM analytics_suppressed_cells('providers', provider_keys, provider_counts);
END
$fn$"""

_BANDS = ", ".join(f"'{band}'" for band in AGE_BAND_ORDER)
PATIENT_PANELS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION analytics_patient_panels() RETURNS TABLE ({PANEL_COLUMNS})
LANGUAGE plpgsql {_DEFINER} AS $fn$
#variable_conflict use_column
BEGIN
    {_GATE}
    RETURN QUERY
    WITH ages AS (
        SELECT age_band, sum(patients)::bigint AS n FROM {PATIENTS_ROLLUP} GROUP BY 1
    ), age_items AS (
        SELECT b.band, coalesce(a.n, 0) AS n, b.n AS place
        FROM unnest(ARRAY[{_BANDS}]) WITH ORDINALITY AS b(band, n)
        LEFT JOIN ages a ON a.age_band = b.band
        UNION ALL
        SELECT a.age_band, a.n, {len(AGE_BAND_ORDER) + 1} FROM ages a
        WHERE a.age_band = 'unknown' AND a.n <> 0
    ), states AS (
        SELECT state, sum(patients)::bigint AS n FROM {PATIENTS_ROLLUP} GROUP BY 1
    )
    SELECT * FROM analytics_suppressed_cells(
        'ages',
        (SELECT array_agg(band ORDER BY place) FROM age_items),
        (SELECT array_agg(n ORDER BY place) FROM age_items))
    UNION ALL
    SELECT * FROM analytics_suppressed_cells(
        'states',
        (SELECT array_agg(state ORDER BY state) FROM states),
        (SELECT array_agg(n ORDER BY state) FROM states));
END
$fn$"""

# Each function with the roles that may execute it: the helpers none (only the panels, as
# their owner, call them), the panels the analyst's role. One list for the grants and for
# their reconciliation on every run.
_FUNCTIONS: list[tuple[str, str, tuple[str, ...]]] = [
    (_DERIVABLE, DERIVABLE_FUNCTION, ()),
    (_SUPPRESS, SUPPRESS_FUNCTION, ()),
    (_CELLS, CELLS_FUNCTION, ()),
    (VISIT_PANELS, VISIT_PANELS_FUNCTION, (ANALYST,)),
    (PATIENT_PANELS, PATIENT_PANELS_FUNCTION, (ANALYST,)),
]


def _statements() -> list[str]:
    statements: list[str] = []
    for signature, body, _ in _FUNCTIONS:
        statements += [body, f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC"]
    statements += [
        f"GRANT EXECUTE ON FUNCTION {signature} TO {', '.join(executors)}"
        for signature, _, executors in _FUNCTIONS
        if executors
    ]
    return statements


@register_step(order=60, after_views=True)
def suppression_functions(connection: BaseDatabaseWrapper) -> list[str]:
    """The suppression rule and the analyst's two table functions, owned by the rollups' owner
    (created as that role, which marks them too)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {OWNER}")
        try:
            done = ensure_functions(connection, VISIT_PANELS, _statements())
            # Reconciled on every run, as ensure_function does.
            for signature, _, executors in _FUNCTIONS:
                done += revoke_other_executors(connection, signature, executors)
            return done
        finally:
            cursor.execute("RESET ROLE")
