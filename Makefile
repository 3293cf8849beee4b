# hdi build, test and maintenance targets. `make help` lists them.
SHELL := /bin/bash
GO ?= go
TOOL := $(GO) tool -modfile=tools.mod
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X github.com/hdi-dev/hdi/internal/buildinfo.Version=$(VERSION) -X github.com/hdi-dev/hdi/internal/buildinfo.Commit=$(COMMIT)
PLUGINS := $(notdir $(wildcard plugins/databento plugins/csv plugins/example))
FUZZTIME ?= 5s

.PHONY: help build test lint generate check-generated fuzz demo clean bench bench-workers bench-serve bench-api bench-stream bench-analytics web-assets image

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## build bin/hdi and every provider plugin into bin/
	@mkdir -p bin
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/hdi ./cmd/hdi
	@for p in $(PLUGINS); do \
		if ls plugins/$$p/*.go >/dev/null 2>&1; then \
			echo "$(GO) build -o bin/hdi-provider-$$p ./plugins/$$p"; \
			$(GO) build -ldflags '$(LDFLAGS)' -o bin/hdi-provider-$$p ./plugins/$$p || exit 1; \
		fi; \
	done

image: ## the container image hdi:VERSION and hdi:latest, and bin/hdi-image.tar (OCI); docker build, else buildah
	VERSION='$(VERSION)' COMMIT='$(COMMIT)' LDFLAGS='$(LDFLAGS)' GO='$(GO)' scripts/image.sh

test: lint web/node_modules check-generated test/pglite/node_modules ## lint, check generated code, run every test (the CI command)
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) fuzz

web/node_modules: web/package-lock.json
	npm ci --prefix web --no-audit --no-fund
	@touch $@

web-assets: web/node_modules ## copy the charting library of hdi serve's page from npm into internal/web (committed)
	cp web/node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js internal/web/assets/vendor/
	cp web/node_modules/lightweight-charts/LICENSE internal/web/assets/vendor/lightweight-charts.LICENSE

test/pglite/node_modules: test/pglite/package-lock.json
	npm ci --prefix test/pglite --no-audit --no-fund
	@touch $@

lint: ## gofmt, go vet and staticcheck, for every build tag in use
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(TOOL) staticcheck ./...
	GO=$(GO) bash scripts/vet-tags.sh

generate: ## regenerate River's schema for sqlc, sqlc and protobuf code
	$(GO) run ./internal/migrate/riverschema > sql/river/schema.sql
	$(TOOL) sqlc generate
	bash plugins/sdk/generate.sh

check-generated: ## fail when regenerating sqlc or protobuf output would change a file
	bash scripts/check-generated.sh

fuzz: ## run each fuzz target briefly (FUZZTIME=5s)
	bash scripts/fuzz.sh $(FUZZTIME)

DEMO_DIR ?= .hdi/demo

demo: build ## load the demo data set into the default database and print ES.c.0 daily bars
	bin/hdi dbn synth --out $(DEMO_DIR) >/dev/null
	bin/hdi ingest --migrate --provider databento --file $(DEMO_DIR)
	bin/hdi query bars -s ES.c.0 --dataset GLBX.MDP3 --interval 1d --start 2024-03-11 --end 2024-03-22

N ?= 5000000
BENCH_FLAGS ?=
STREAM_N ?= 1000000
STREAM_RSS_N ?= 10000000
bench-api: build ## N trades from a DBN file, from the fake Databento API, and from the API cut twice (docs/BENCHMARKS.md)
	$(GO) run ./cmd/hdi-bench -n $(N) -bin bin -api $(BENCH_FLAGS)

bench-stream: build ## hdi stream from the fake Live gateway: N trades and mbp-10 vs hdi ingest of the file, 50k/s paced and cut, a 10M-trade replay's RSS (docs/BENCHMARKS.md)
	$(GO) run ./cmd/hdi-bench -stream -n $(STREAM_N) -schemas trades,mbp-10 -repeat 3 -rss-n $(STREAM_RSS_N) -bin bin $(BENCH_FLAGS)

bench-analytics: build ## the indicator queries over a year of 1m bars of 1 and 30 symbols vs a plain SELECT of their input rows and a Go client (docs/BENCHMARKS.md)
	$(GO) run ./cmd/hdi-bench -bin bin -analytics 1,30 $(BENCH_FLAGS)

bench-serve: build ## 50 clients on /api/v1/bars for 20 s (hey) against pgbench running the same SQL (docs/BENCHMARKS.md)
	@command -v hey >/dev/null || { echo "bench-serve needs hey: apt-get install hey"; exit 1; }
	$(GO) run ./cmd/hdi-bench -bin bin -serve $(BENCH_FLAGS)

bench-workers: build ## a queued 5M-trade load with 1, 2 and 4 hdi worker processes vs one hdi ingest, and the queue's cost per unit (docs/BENCHMARKS.md)
	$(GO) run ./cmd/hdi-bench -n $(N) -bin bin -workers 1,2,4 $(BENCH_FLAGS)

bench: build ## ingest N records per schema end to end vs bare CopyFrom, psql \copy and 2 sessions of server-side COPY (N=5000000; docs/BENCHMARKS.md)
	$(GO) run ./cmd/hdi-bench -n $(N) -bin bin $(BENCH_FLAGS)

faults: ## the fault suite with its slow cases (PostgreSQL restart, persistent API errors)
	$(GO) test -count=1 -tags faults -timeout 30m ./internal/faults

clean: ## remove build output
	rm -rf bin
