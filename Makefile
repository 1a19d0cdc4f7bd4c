# One Makefile for the whole platform. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
PYTHON_BOOT ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
CRM := $(VENV)/bin/crm
VENV_STAMP := $(VENV)/.installed
PROTO_FILES := $(shell find protos -name '*.proto')
PROTO_STAMP := libs/protos/src/.generated
PYPROJECTS := $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)

SERVICE_PACKAGES := $(patsubst %/__init__.py,%,$(wildcard services/*/crm_*/__init__.py))
LOCALE_PACKAGES := libs/platform/crm_platform $(SERVICE_PACKAGES)

.PHONY: setup run up messages test bench-contacts bench-conversations bench-panel bench-realtime bench-tickets bench-reports test-unit test-integration test-contract test-e2e lint bench protos check-protos clean

setup: $(VENV_STAMP) $(PROTO_STAMP)

$(VENV_STAMP): requirements-dev.txt $(PYPROJECTS)
	test -x $(PYTHON) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -r requirements-dev.txt
	touch $@

# Generated protobuf code is never edited or committed: this target writes it from protos/.
$(PROTO_STAMP): $(PROTO_FILES) $(VENV_STAMP)
	rm -rf libs/protos/src/crm
	$(PYTHON) -m grpc_tools.protoc -I protos --python_out=libs/protos/src --grpc_python_out=libs/protos/src \
		--pyi_out=libs/protos/src $(PROTO_FILES)
	touch $@

protos: $(PROTO_STAMP)

# Fails when a .proto change broke wire compatibility with what main had (see tests/contract).
check-protos: setup
	$(PYTHON) -m pytest tests/contract/test_protobuf_compat.py -q

run: setup
	$(CRM) run

# Microservices mode on the local PostgreSQL and RabbitMQ, with an SMTP sink; Ctrl-C stops it all.
# Options: make up PORT=8090 BASE_PORT=19000 SMTP_PORT=19025 DB_PREFIX=crm_mine VHOST=mine
UP_OPTIONS = $(if $(PORT),--port $(PORT)) $(if $(BASE_PORT),--base-port $(BASE_PORT)) \
	$(if $(SMTP_PORT),--smtp-port $(SMTP_PORT)) $(if $(DB_PREFIX),--db-prefix $(DB_PREFIX)) \
	$(if $(VHOST),--vhost $(VHOST))
up: setup
	$(CRM) up $(UP_OPTIONS)

# Problem messages: extract the English msgids into each package's messages.pot, merge them into its .po
# catalogs (translate the new entries there; `fuzzy` ones are not shown until reviewed). Read at run time.
messages: setup
	for package in $(LOCALE_PACKAGES); do \
		$(VENV)/bin/pybabel -q extract -F babel.cfg --no-location --sort-output -w 120 --project crm-platform --version 0.1.0 \
			--copyright-holder "CRM platform contributors" \
			-o $$package/locale/messages.pot $$package && \
		$(VENV)/bin/pybabel -q update -i $$package/locale/messages.pot -d $$package/locale -w 120 \
			--ignore-obsolete || exit 1; \
	done

# Two workers for every tier but e2e (each test has its own databases, vhosts and ports); the e2e tier starts
# whole stacks of processes and runs alone after them.
test: setup
	$(PYTHON) -m pytest tests -q -p no:cacheprovider --timeout=600 -n 2 --ignore=tests/e2e
	$(PYTHON) -m pytest tests/e2e -q -p no:cacheprovider --timeout=600

test-unit: setup
	$(PYTHON) -m pytest tests/unit -q

test-integration: setup
	$(PYTHON) -m pytest tests/integration -q

test-contract: setup
	$(PYTHON) -m pytest tests/contract -q

test-e2e: setup
	$(PYTHON) -m pytest tests/e2e -q

lint: setup
	$(VENV)/bin/ruff check libs services tests bench
	$(VENV)/bin/ruff format --check libs services tests bench
	$(VENV)/bin/mypy libs/platform/crm_platform libs/devtools/crm_devtools libs/events/crm_events
	for package in $(SERVICE_PACKAGES); do $(VENV)/bin/mypy $$package || exit 1; done  # one run per service: each checked on its own, as it is deployed
	$(VENV)/bin/lint-imports --no-cache services/contacts/.importlinter  # import direction: the contact record imports no feature
	$(VENV)/bin/lint-imports --no-cache libs/events/.importlinter  # the event catalogue imports no service

bench: setup
	$(PYTHON) bench/run.py

bench-contacts: setup
	$(PYTHON) bench/contacts_scale.py

bench-conversations: setup
	cd bench && ../$(PYTHON) conversations_scale.py $(ARGS)

bench-panel: setup
	cd bench && ../$(PYTHON) panel_scale.py $(ARGS)

bench-realtime: setup
	cd bench && ../$(PYTHON) realtime_scale.py

bench-tickets: setup
	$(PYTHON) bench/tickets_scale.py $(ARGS)

bench-reports: setup
	$(PYTHON) bench/reports_scale.py $(ARGS)

clean:
	rm -rf $(VENV) var libs/protos/src/crm $(PROTO_STAMP)

-include mk/chart.mk
