# Visitdesk — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# `make run` serves here; honcho would otherwise hand the web process its own default, PORT=5000.
PORT ?= 8000

.PHONY: run test lint install migrate demo bench clean check-deploy drill compose-up compose-down drill-compose

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	if pkg-config --exists gobject-introspection-1.0 cairo 2>/dev/null; then \
	  $(BIN)/pip install --quiet -e '.[dev,interop]'; \
	else echo "note: libical bindings skipped (apt-get install gir1.2-ical-3.0 libgirepository1.0-dev libcairo2-dev pkg-config)"; fi
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo_data

## Serve the app with demo data at http://127.0.0.1:8000 (web + Celery worker + beat).
## `make run PORT=8080` serves elsewhere; links in mails and feeds follow unless SITE_URL is set.
run: export DJANGO_DEBUG ?= 1
run: export SITE_URL ?= http://127.0.0.1:$(PORT)
run: demo
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile --port $(PORT)

## The whole test suite (services are used when DATABASE_URL / REDIS_URL are set).
test: $(STAMP)
	VISITDESK_TESTING=1 $(BIN)/pytest -n 2 $(PYTEST_ARGS)

## ruff, then mypy (strictness per app in pyproject.toml; VISITDESK_TESTING=1 lets settings load with no secret).
lint: $(STAMP)
	$(BIN)/ruff check .
	VISITDESK_TESTING=1 $(BIN)/mypy

bench: $(STAMP)
	VISITDESK_TESTING=1 $(BIN)/python -m bench.run

check-deploy: $(STAMP)
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=$$($(BIN)/python -c 'import secrets;print(secrets.token_urlsafe(50))') \
	  DJANGO_ALLOWED_HOSTS=visitdesk.example.org SITE_URL=https://visitdesk.example.org \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

## Several machines at once: web ×2, worker ×2, beat (+ a second by mistake) on DATABASE_URL's PostgreSQL and
## REDIS_URL's Redis (its database is flushed; VISITDESK_DRILL_REDIS_URL picks another), one web server and one
## worker SIGKILLed mid-way; fails unless every mail arrived once and every feed agrees (deploy/drill.py).
drill: $(STAMP)
	PYTHONPATH=$(CURDIR) $(BIN)/python -m deploy.drill

## The production stack of docker-compose.yml with podman (README, "Production"): images from Debian packages,
## PostgreSQL, Redis, migrate, web ×2 (127.0.0.1 only), worker ×2, beat. Needs .env (cp .env.example .env).
compose-up: $(STAMP)
	VISITDESK_PYTHON=$(BIN)/python deploy/podman/compose.sh up

## Stops and removes the containers; the database and Redis volumes stay (VOLUMES=1 removes them too).
compose-down:
	deploy/podman/compose.sh down

## `make drill` against a throw-away compose deployment (project visitdesk-drill), removed afterwards.
drill-compose: $(STAMP)
	VISITDESK_PYTHON=$(BIN)/python deploy/podman/drill-compose.sh

clean:
	rm -rf $(VENV) var .pytest_cache
