# cflens: the two commands a newcomer needs are `make demo` and `make test`.
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
FUZZTIME ?= 10s

.PHONY: demo test deps check unit fuzz bench bench-scaling bench-smoke bench-build build

build:
	$(GO) build -o bin/cflens ./cmd/cflens

# The whole pipeline on generated logs served by an in-process S3
# endpoint: no AWS account needed.
demo:
	$(GO) run ./cmd/cflens demo

# Everything CI runs: formatting, vet, staticcheck, every shipped SQL
# statement parsed with Trino's and Hive's grammars, unit and integration
# tests (against a real S3-compatible server and a real browser), a short
# fuzzing pass over every fuzz target, and the benchmark suite at a tiny
# scale to check that it works.
test: check unit fuzz bench-smoke

deps:
	@./.ci/install-versitygw.sh >/dev/null
	@./.ci/install-chromium.sh >/dev/null

check:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
		if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...
	./.ci/sqlcheck.sh

unit: deps
	CFLENS_VERSITYGW="$$(./.ci/install-versitygw.sh)" CFLENS_CHROMIUM="$$(./.ci/install-chromium.sh)" \
		$(GO) test -count=1 -timeout 30m ./...
	$(GO) test -count=1 -tags inflatecheck ./ingest/inflate

fuzz:
	./.ci/fuzz.sh $(FUZZTIME)

# The benchmark suite (README, "Performance"): cflens against the gzip
# ceiling, DuckDB and GoAccess on one generated corpus, interleaved and
# repeated, as Markdown on stdout and bench.md/bench.json in BENCH_OUT.
# The corpus is kept in the user cache folder between runs.
BENCH_FLAGS ?= --lines 1000000 --files 60 --reps 3 --scales 1,4 --workers 1,2
BENCH_OUT ?= out/bench

bench-build:
	$(GO) build -o bin/ ./cmd/cflens ./cmd/cflensbench ./cmd/cflensbench/benchworker

bench: bench-build
	@./.ci/install-goaccess.sh >/dev/null
	bin/cflensbench $(BENCH_FLAGS) --out $(BENCH_OUT)

# The scaling table of the analysis on the realistic corpus: 1, 10 and 50
# million lines, half of them scanner probes for unique paths (5 M
# distinct stems at 10 M lines), time per line and peak RSS at each.
SCALING_FLAGS ?= --lines 1000000 --files 60 --reps 1 --scales 1,10,50 --workers 2 --probe-share 0.5 \
	--tools ceiling,analyze-gz,ingest,parquet-ceiling,analyze-parquet
bench-scaling: bench-build
	bin/cflensbench $(SCALING_FLAGS) --out $(BENCH_OUT)-scaling

# Go benchmarks once each at their small size, and the suite at a tiny
# scale: this checks that everything runs and reads every line, and asserts
# no timing.
bench-smoke: bench-build deps
	CFLENS_VERSITYGW="$$(./.ci/install-versitygw.sh)" \
		$(GO) test -short -count=1 -run '^$$' -bench . -benchtime 1x ./...
	bin/cflensbench --lines 20000 --files 4 --reps 1 --scales 1,2 --workers 1,2 \
		--tools ceiling,analyze-gz,ingest,parquet-ceiling,analyze-parquet,duckdb --out out/bench-smoke
