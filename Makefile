# Tollgate developer entry points. `make run` starts the suite; `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
MEMBERS := libs/proto libs/kit libs/devstack auth-svc billing-svc email-svc gateway

.PHONY: install lock gen proto-deps run test lint fmt typecheck buf unit web web-test bench new-service

$(VENV)/.installed: requirements.lock package.json $(foreach m,$(MEMBERS),$(m)/pyproject.toml)
	@command -v uv >/dev/null || python3 -m pip install --quiet "uv==0.13.9"
	@test -x $(PY) || uv venv --quiet --python 3.11 $(VENV)
	VIRTUAL_ENV=$(VENV) uv pip sync --quiet --require-hashes requirements.lock
	VIRTUAL_ENV=$(VENV) uv pip install --quiet --no-deps --no-build-isolation $(foreach m,$(MEMBERS),-e ./$(m))
	npm ci --silent --no-audit --no-fund
	@touch $@

install: $(VENV)/.installed

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --silent --no-audit --no-fund
	@touch $@

# Builds the React app into web/dist, which the gateway serves at /app/.
web: web/node_modules/.installed
	cd web && npm run build

web-test: web/node_modules/.installed
	cd web && npm run typecheck && npm test

lock:
	scripts/lock.sh

# Protos → libs/proto (and the descriptor set), then the OpenAPI document → web/src/api/schema.ts.
gen: install
	scripts/gen.sh
	scripts/gen-web-types.sh

proto-deps: install
	scripts/proto-deps.sh

# A new service from the template (docs/conventions.md): make new-service NAME=ledger
new-service: install
	$(PY) -m tollgate_devstack.scaffold "$(NAME)"

run: install web
	$(PY) -m tollgate_devstack run

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	node_modules/.bin/buf format -w

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: install
	$(VENV)/bin/mypy libs/kit/src libs/devstack/src auth-svc/src billing-svc/src email-svc/src gateway/src

buf: install
	scripts/buf-check.sh

unit: install
	$(PY) -m pytest -q libs/kit/tests auth-svc/tests/unit billing-svc/tests/unit email-svc/tests/unit gateway/tests/unit tests/repo

test: install lint typecheck buf web-test web
	$(PY) -m pytest -q

# Each prints its figures as ratios measured in one run; needs local PostgreSQL/Redis (and pgbench,
# wrk). The REST charge run writes bench/results/latest.md.
bench: install
	$(PY) bench/rest_charge.py --growth --cores --storm --markdown bench/results/latest.md
	$(PY) bench/gateway_latency.py
	$(PY) bench/soak.py
	$(PY) bench/auth_login.py
	$(PY) bench/billing_charge.py
	$(PY) bench/telemetry_cost.py
	$(PY) bench/replicas.py
