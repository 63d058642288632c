# cflens: the two commands a newcomer needs are `make demo` and `make test`.
GO ?= go
STATICCHECK_VERSION ?= 2026.2.2
FUZZTIME ?= 10s

.PHONY: demo test deps check unit fuzz bench bench-smoke build

build:
	$(GO) build -o bin/cflens ./cmd/cflens

# The whole pipeline on generated logs served by an in-process S3
# endpoint: no AWS account needed.
demo:
	$(GO) run ./cmd/cflens demo

# Everything CI runs: formatting, vet, staticcheck, unit and integration
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

unit: deps
	CFLENS_VERSITYGW="$$(./.ci/install-versitygw.sh)" CFLENS_CHROMIUM="$$(./.ci/install-chromium.sh)" \
		$(GO) test -count=1 -timeout 30m ./...

fuzz:
	./.ci/fuzz.sh $(FUZZTIME)

bench:
	$(GO) run ./cmd/cflens bench

bench-smoke:
	$(GO) test -short -count=1 -run '^$$' -bench . -benchtime 1x ./...
