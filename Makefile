# AI Sandbox Hub: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)

REQUIREMENTS := $(wildcard requirements/*.txt)

.PHONY: run test check setup lint format bench system-packages images clean

## run: set up and start the hub in the foreground with the embedded default site
run: setup
	bash scripts/install-system-packages.sh --run
	$(PY) -m hub_config.run

## test: set up and run every test (installs Debian packages it needs; starts and stops every server)
test: system-packages setup
	bash scripts/run-tests.sh

## check: the quick tier for your own loop: pure core, policy, ledger on SQLite, schema,
## the security rules that need no server; no root, no servers, well under 2 minutes.
## `make test` stays the whole truth.
check: setup
	$(PY) -m pytest -q -p no:cacheprovider -m "not integration" -k "not postgresql" \
		tests/core tests/policy tests/ledger tests/spawners tests/security

## setup: the virtual environment (system Python, so real unix users can run it) and the proxy
setup: $(VENV)/.installed node_modules/.bin/configurable-http-proxy
	bash extensions/labextension/build.sh --if-changed

$(VENV)/.installed: $(REQUIREMENTS) pyproject.toml $(wildcard extensions/jupyter-config/*/*.json)
	test -x $(PY) || /usr/bin/python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(addprefix -r ,$(REQUIREMENTS))
	$(PY) -m pip install -q --no-deps -e .
	@# An editable install skips the package's data-files (pyproject.toml), which enable
	@# the server extension; lay them into the venv from that same table.
	$(PY) -c 'import pathlib, shutil, sys, tomllib; \
	  table = tomllib.load(open("pyproject.toml", "rb"))["tool"]["setuptools"]["data-files"]; \
	  dirs = {pathlib.Path(sys.prefix, d): fs for d, fs in table.items()}; \
	  [d.mkdir(parents=True, exist_ok=True) or [shutil.copy(f, d) for f in fs] for d, fs in dirs.items()]'
	@# Record the sha256 of the models packages ship; the tutorials' store checks them at load.
	cd notebooks && ../$(PY) -m sandbox_tutorials.store install-packages
	touch $@

node_modules/.bin/configurable-http-proxy: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

system-packages:
	bash scripts/install-system-packages.sh

## images: build the five images (CPU variant) into the Docker daemon named by DOCKER_HOST,
## else into a private dockerd on .cache/images/docker; GPU=1: the CUDA variant (build host)
images: system-packages setup
	$(PY) images/build_images.py $(if $(filter 1,$(GPU)),--gpu)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules .cache
