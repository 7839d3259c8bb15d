# Clinic: every target is idempotent. `make run` and `make test` work on a fresh machine.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
MANAGE  := $(BIN)/python manage.py
STAMP   := $(VENV)/.installed

.PHONY: run test db psql stop venv lint check bench pooler backup restore replica stress

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
	$(BIN)/mypy clinic accounts privacy patients records analytics scheduling rights localdb
	$(BIN)/bandit -q -r clinic accounts privacy patients records analytics scheduling rights localdb -x '*/migrations/*' --severity-level high
	$(BIN)/python scripts/dependency_audit.py

check: db
	$(MANAGE) makemigrations --check --dry-run

# Role switching, row-level security and the access log run a second time through PgBouncer.
POOLED_TESTS ?= tests/test_db_roles.py tests/test_request_context.py tests/test_signin.py \
	tests/test_access_log.py tests/test_db_hardening.py tests/test_staff_identity.py \
	tests/test_role_gate.py tests/test_write_checks.py tests/test_sign_in_tables.py \
	tests/test_lockout_guard.py

test: db lint check
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest $(PYTEST_ARGS)
	$(BIN)/python -m localdb.pooler up
	CLINIC_DB_VIA_POOLER=1 DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest $(POOLED_TESTS)

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

# The pooler stress test at length: two app servers, 20,000 interleaved requests.
stress: db
	STRESS_REQUESTS=$${STRESS_REQUESTS:-20000} DJANGO_ALLOW_ASYNC_UNSAFE=true \
		$(BIN)/pytest tests/test_pooler_stress.py -s -q

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
