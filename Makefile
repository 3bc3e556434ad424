# The Makefile only wraps the real commands, so CI and a person run the same thing.
GO      ?= go
PKGS    ?= ./...
BIN     := bin/sluice
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
FUZZTIME ?= 15s
# Everything but the load generator's timing-heavy tests runs again under the race detector.
RACE_PKGS ?= $(shell $(GO) list ./... | grep -v -e '/bench' -e '/fuzz$$')

.PHONY: all build run test test-race deps-test vet lint bench bench-peers bench-engine bench-tls bench-console fuzz clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/sluice

## run: the gateway on the embedded demo (example upstreams, no config file needed)
run: build
	./$(BIN) run

## test: everything CI runs (installs what the tests need first)
test: deps-test vet
	$(GO) test -shuffle=on -timeout 8m $(PKGS)
	$(GO) test -race -timeout 8m $(RACE_PKGS)

## deps-test: system packages some tests use (installed from apt when missing)
deps-test:
	@bash scripts/deps.sh test

vet:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

lint: vet

## bench: the in-repo micro benchmarks (allocation proofs included)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./http1/ ./routing/ ./limits/ ./lb/ ./proxy/ ./gateway/ ./tls/

## bench-peers: Sluice against NGINX, HAProxy (HTTP and TCP relay), one core each
bench-peers: build
	bash bench/peers/run.sh -R $(PEERS_FLAGS)

## bench-engine: GC pauses and admin API latency while the loops are saturated, per engine
bench-engine:
	bash bench/engine/under_load.sh

## bench-tls: Sluice against NGINX terminating TLS (full handshakes, CPU per request), one core each
bench-tls:
	bash bench/tls/run.sh

## bench-console: the gateway's throughput and CPU per request with the console attached, and without
bench-console:
	bash bench/console/overhead.sh

## fuzz: every fuzz target for a bounded time
fuzz:
	@bash scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin
