# AgentMeter — kubebuilder-style entry points. `make demo` and `make test` are all a newcomer needs.
SHELL := /bin/bash
DOTNET ?= dotnet
CONFIG ?= Debug
SLN := AgentMeter.slnx
RESULTS := artifacts/test-results

.PHONY: all build test demo clean bench-core bench-costs bench-operator render

all: build

build:
	$(DOTNET) build $(SLN) -c $(CONFIG) --nologo -v q

## Runs every test project; the last line is "N passed, N failed, N skipped".
test: build
	rm -rf $(RESULTS)
	$(DOTNET) test $(SLN) -c $(CONFIG) --no-build --nologo \
	  --logger "trx" --logger "console;verbosity=normal" --results-directory $(RESULTS) \
	  || true
	@scripts/test-summary.sh $(RESULTS)

## Aggregator on a private PostgreSQL with generated sample data: http://127.0.0.1:8080
demo: build
	$(DOTNET) run --project src/Aggregator -c $(CONFIG) --no-build -- demo --urls http://127.0.0.1:8080 --resources config/samples

## Ingest and aggregation benchmarks (docs/benchmarks-core.md); not part of `make test`.
bench-core:
	$(DOTNET) build bench/AgentMeter.Bench -c Release --nologo -v q
	$(DOTNET) bench/AgentMeter.Bench/bin/Release/net10.0/AgentMeter.Bench.dll $(BENCH_ARGS)

## Costs API under concurrent load beside plain SQL (docs/benchmarks-costs.md); not part of `make test`.
bench-costs:
	$(DOTNET) build bench/analytics -c Release --nologo -v q
	$(DOTNET) bench/analytics/bin/Release/net10.0/AgentMeter.Bench.Analytics.dll $(BENCH_ARGS)

## Operator benchmark: 1,000 UsageAlerts in 50 namespaces (docs/benchmarks-operator.md); not part of `make test`.
bench-operator:
	$(DOTNET) build src/Operator -c Release --nologo -v q
	$(DOTNET) build bench/AgentMeter.Operator.Bench -c Release --nologo -v q
	$(DOTNET) bench/AgentMeter.Operator.Bench/bin/Release/net10.0/AgentMeter.Operator.Bench.dll $(BENCH_ARGS)

## Every object the operator would apply for config/samples, as YAML (RENDER_ARGS to add -f PATH ...).
render: build
	$(DOTNET) src/Operator/bin/$(CONFIG)/net10.0/agentmeter-operator.dll render -f config/samples $(RENDER_ARGS)

clean:
	rm -rf artifacts $(shell find src tests -maxdepth 2 -type d \( -name bin -o -name obj \))
