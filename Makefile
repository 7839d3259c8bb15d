# Clinic: every target is idempotent. `make run` and `make test` work on a fresh machine.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
MANAGE  := $(BIN)/python manage.py
STAMP   := $(VENV)/.installed

.PHONY: run test test-clock db psql stop venv lint check bench bench-scheduling pooler backup restore replica stress

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

db: $(STAMP)
	mkdir -p staticfiles  # WhiteNoise warns about a missing STATIC_ROOT even in development
	$(BIN)/python -m localdb.cluster up
	$(MANAGE) migrate --database owner --noinput
	$(MANAGE) provision_db

run: db
	$(MANAGE) seed_demo
	@echo "Clinic: http://127.0.0.1:8000/  (Ctrl-C stops the web server; 'make stop' stops the database)"
	$(MANAGE) runserver 127.0.0.1:8000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy clinic accounts privacy patients records analytics scheduling chart rights localdb
	$(BIN)/bandit -q -r clinic accounts privacy patients records analytics scheduling chart rights localdb -x '*/migrations/*' --severity-level high
	$(BIN)/python scripts/dependency_audit.py $(AUDIT_FLAGS)

check: db
	$(MANAGE) makemigrations --check --dry-run

# Role switching, row-level security and the access log run a second time through PgBouncer:
# every module whose requests read PHI (charts, visits, search, care team, break the glass).
POOLED_TESTS ?= tests/test_db_roles.py tests/test_request_context.py tests/test_signin.py \
	tests/test_access_log.py tests/test_db_hardening.py tests/test_staff_identity.py \
	tests/test_role_gate.py tests/test_write_checks.py tests/test_sign_in_tables.py \
	tests/test_lockout_guard.py tests/test_break_glass.py tests/test_care_team.py \
	tests/test_patient_summary.py tests/test_patient_search.py tests/test_visit_detail.py \
	tests/test_audit_owner.py tests/test_chart_database.py tests/test_chart_pages.py \
	tests/test_scheduling_database.py tests/test_scheduling_day.py tests/test_rights_database.py \
	tests/test_rights_restrictions_database.py tests/test_rights_communications.py \
	tests/test_access_log_batch.py tests/test_database_owner.py \
	tests/test_rights_amendments_items_database.py tests/test_rights_visit_summary.py

# The full run fails if fewer tests pass than tests/SUITE_FLOOR records, or if any is skipped
# (tests/suite_guard.py says how to update the number). PYTEST_ARGS that select a subset
# should also say SUITE_FLOOR= (empty).
SUITE_FLOOR ?= tests/SUITE_FLOOR
# The dependency audit fails when it could audit nothing; AUDIT_FLAGS=--offline says so out
# loud instead (CI here has no vulnerability database: .ci/run passes it).
AUDIT_FLAGS ?=

# Test processes (pytest-xdist), each with a test database of its own; a module marked
# cluster_wide runs alone (tests/cluster_share.py). TEST_PROCESSES=0: one process.
TEST_PROCESSES ?= 2
PARALLEL = $(if $(filter-out 0,$(TEST_PROCESSES)),-n $(TEST_PROCESSES) --dist loadfile)

test: db lint check
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest $(PARALLEL) $(if $(SUITE_FLOOR),--suite-floor $(SUITE_FLOOR)) $(PYTEST_ARGS)
	$(BIN)/python -m localdb.pooler up
	CLINIC_DB_VIA_POOLER=1 DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest $(PARALLEL) $(POOLED_TESTS)

# The date-sensitive modules with the clock pinned (libfaketime, in pytest and the PostgreSQL
# server) at the next 04:00 UTC, 31 December 23:30 local and 29 February (scripts/clock_runs.py).
# Restarts this checkout's cluster for each moment. Needs Debian's faketime package.
CLOCK_TESTS ?= tests/test_clinic_dates.py tests/test_patient_registration.py \
	tests/test_privacy_console.py tests/test_privacy_disclosures.py tests/test_analytics_dashboard.py \
	tests/test_analytics_export.py \
	tests/test_analytics_rollups.py tests/test_db_roles.py tests/test_care_team.py \
	tests/test_break_glass.py tests/test_write_checks.py tests/test_scheduling_slots.py \
	tests/test_scheduling_booking.py tests/test_visit_new.py tests/test_scheduling_day.py \
	tests/test_rights_database.py tests/test_rights_export.py tests/test_rights_requests.py \
	tests/test_scheduling_care_team.py tests/test_scheduling_database.py \
	tests/test_scheduling_demo.py tests/test_scheduling_flow.py tests/test_scheduling_reschedule.py \
	tests/test_scheduling_week.py tests/test_chart_pages.py tests/test_unsigned_notes.py \
	tests/test_home_pages.py tests/test_rights_home.py tests/test_scheduling_override.py \
	tests/test_scheduling_calendar_booking.py tests/test_scheduling_override_move.py \
	tests/test_scheduling_hours_history.py tests/test_rights_restrictions.py \
	tests/test_rights_restrictions_database.py tests/test_rights_communications.py \
	tests/test_scheduling_hours_changes.py tests/test_scheduling_day_pages.py \
	tests/test_rights_visit_summary.py

test-clock: db
	$(BIN)/python scripts/clock_runs.py $(CLOCK_ARGS) $(CLOCK_TESTS)

# make backup FILE=clinic.dump ; make restore FILE=clinic.dump (into this checkout's cluster)
backup: db
	$(MANAGE) backup_db $(FILE)

restore: db
	$(MANAGE) restore_db $(FILE)

pooler: db
	$(BIN)/python -m localdb.pooler up

# A streaming hot standby of the cluster (port + 2); CLINIC_ANALYTICS_ON_REPLICA=1 reads from it.
replica: db
	$(BIN)/python -m localdb.replica up

# The pooler stress test and the soak at length: 20,000 requests each (two app servers
# interleaved; one app server, watching connections and worker memory).
stress: db
	STRESS_REQUESTS=$${STRESS_REQUESTS:-20000} SOAK_REQUESTS=$${SOAK_REQUESTS:-20000} \
		DJANGO_ALLOW_ASYNC_UNSAFE=true \
		$(BIN)/pytest tests/test_pooler_stress.py tests/test_pooler_soak.py -s -q

psql: $(STAMP)
	@$(BIN)/python -m localdb.cluster up >/dev/null
	@$(BIN)/python -m localdb.cluster psql

stop: $(STAMP)
	$(BIN)/python -m localdb.pooler stop
	$(BIN)/python -m localdb.replica stop
	$(BIN)/python -m localdb.cluster stop

# Security-layer benchmarks in a scratch database (docs/benchmarks.md); full scale:
# make bench BENCH_ARGS="--scale full"
bench: db
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# Scheduling at size (issue 17): 50 clinicians, a year at 25 a day each, 1M patients.
bench-scheduling: db
	$(BIN)/python -m benchmarks.run --scheduling $(BENCH_ARGS)
