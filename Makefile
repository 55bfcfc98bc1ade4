# kafkatune. `make` lists the targets.
#
# Two commands matter on a fresh machine:
#   make local   run the whole stack here, without Docker
#   make test    every test (unit, rules, static checks, integration on a
#                real Kafka broker, Prometheus and Alertmanager)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
BIN       := bin
CACHE     := .cache
# vibectl 0.11.6 from PyPI in a virtual environment, for the contract test
# of `agent vibectl` against the real CLI.
VENV      := $(CACHE)/vibectl-venv
VIBECTL   := $(VENV)/bin/vibectl
PYTHON    ?= python3
VIBECTL_PKGS := vibectl==0.11.6 llm==0.36

# Two cores: at most two test binaries at once. The integration tests start
# real JVMs; the timeout is for a machine under load, not a target.
TEST_FLAGS ?= -count=1 -p 2 -timeout 45m
FUZZTIME   ?= 10s
# Fuzz targets: package and function, run for FUZZTIME each in `make test`.
FUZZ_TARGETS := \
	./internal/stamp:FuzzDecode \
	./internal/loadgen:FuzzConsumerHandle \
	./internal/loadgen:FuzzParse \
	./internal/bridge:FuzzSampleValue \
	./internal/bridge:FuzzQueryAnswer \
	./internal/bridge:FuzzParseFlags \
	./internal/chaos:FuzzParseFlags \
	./internal/webhook:FuzzWebhookBody

COMPOSE   ?= docker compose
NETWORK   := kafkatune

.PHONY: help build local test test-go test-deps fuzz lint check bench chaos dashboards \
	up down clean clean-stack ps logs docker-check

help: ## show this list
	@echo "kafkatune targets:"
	@grep -hE '^[a-zA-Z%_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  %-14s %s\n", $$1, $$2}'

build: ## build bin/agent, bin/loadgen and bin/exporter
	$(GO) build -o $(BIN)/ ./agent ./loadgen ./exporter

local: build ## run Kafka, Prometheus, Alertmanager, load generators and bridge here (Ctrl-C stops)
	$(BIN)/agent local

test: test-deps lint test-go fuzz ## run every test
	@echo "make test: all passed"

test-deps: $(VIBECTL) ## check the tools the tests need (and install vibectl in .cache)
	@missing=""; \
	for t in java mvn promtool amtool shellcheck; do \
		command -v $$t >/dev/null || missing="$$missing $$t"; \
	done; \
	{ [ -x /usr/bin/prometheus ] || command -v prometheus >/dev/null; } || missing="$$missing prometheus"; \
	{ [ -x /usr/bin/prometheus-alertmanager ] || command -v alertmanager >/dev/null; } || missing="$$missing alertmanager"; \
	if [ -n "$$missing" ]; then \
		echo "make test: missing:$$missing"; \
		echo "  install: apt-get install prometheus prometheus-alertmanager shellcheck openjdk-17-jre-headless maven"; \
		exit 1; \
	fi

$(VIBECTL):
	@echo "installing $(VIBECTL_PKGS) into $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(VIBECTL_PKGS)

test-go: ## go vet and go test ./... (integration tests included)
	$(GO) vet ./...
	KAFKATUNE_VIBECTL=$(abspath $(VIBECTL)) $(GO) test $(TEST_FLAGS) ./...

fuzz: ## run each fuzz target for FUZZTIME
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

lint: ## gofmt, shellcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	shellcheck $$(git ls-files '*.sh') .ci/run

check: lint ## static checks only: gofmt, shellcheck, vet, rules, compose and manifests
	$(GO) vet ./...
	$(GO) test -count=1 ./internal/rules ./internal/deploycheck ./internal/dashboards -run 'Test[^Q]'

bench: ## benchmarks: our producer against Kafka's, the tuner against random search (bench/results.md)
	$(GO) run ./bench

chaos: ## restart the broker under load and count lost messages
	$(GO) run ./chaos -restarts 5

dashboards: ## regenerate grafana/dashboards/*.json from Go
	$(GO) run ./internal/dashboards/gen

# Docker Compose stack. Needs Docker with the Compose plugin; nothing of it
# runs on the project's machines (see docs/deploy.md).
docker-check:
	@command -v docker >/dev/null || { echo "make: docker is not installed (needed for the Compose stack; use make local without it)"; exit 1; }
	@$(COMPOSE) version >/dev/null 2>&1 || { echo "make: the Docker Compose plugin is missing (docker compose version failed)"; exit 1; }
	@docker info >/dev/null 2>&1 || { echo "make: the Docker engine is not reachable (docker info failed)"; exit 1; }

up: docker-check ## build and start the k3d stack with Grafana at http://localhost:3000
	@[ -f .env ] || { cp .env.example .env; echo "created .env from .env.example"; }
	@docker network inspect $(NETWORK) >/dev/null 2>&1 || docker network create $(NETWORK) >/dev/null
	$(COMPOSE) up -d --build
	@echo "Grafana http://localhost:3000  Prometheus http://localhost:9090  Alertmanager http://localhost:9093"

down: docker-check ## stop the Compose stack (the k3d cluster and volumes stay)
	$(COMPOSE) down

clean: docker-check clean-stack ## stop everything and delete the k3d cluster, volumes and bin/
	rm -rf $(BIN)

clean-stack: docker-check
	$(COMPOSE) down --volumes --remove-orphans
	@ids=$$(docker ps -aq --filter label=k3d.cluster=kafkatune); [ -z "$$ids" ] || docker rm -f $$ids
	@vols=$$(docker volume ls -q --filter label=k3d.cluster=kafkatune); [ -z "$$vols" ] || docker volume rm $$vols
	@docker network rm $(NETWORK) >/dev/null 2>&1 || true

ps: docker-check ## list the Compose services
	$(COMPOSE) ps

logs: docker-check ## follow every service's logs
	$(COMPOSE) logs -f --tail=100

logs-%: docker-check ## follow one service's logs (logs-exporter)
	$(COMPOSE) logs -f --tail=200 $*

shell-%: docker-check ## open a shell in one service (shell-k8s-sandbox)
	$(COMPOSE) exec $* sh
