# hnspath: build, test, vet, fuzz and bench.
GO      ?= go
BIN     := bin/hnspath
OUT     ?= out
FUZZTIME ?= 30s
PGO     := $(CURDIR)/cmd/hnspath/default.pgo
# hnspath version prints the commit; GOFLAGS may turn Go's own VCS stamping off.
COMMIT  := $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo +dirty)
LDFLAGS := -X main.commit=$(COMMIT)

.PHONY: all build build-fleet run test test-go test-fleet vet vet-windows check fuzz bench soak pgo deps clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hnspath

# The main job: the built-in scenario library through the emulator.
run: build
	./$(BIN) run --out $(OUT)/run

# Everything the tests need (tshark, Chromium, benchstat) where it can be
# installed, then every test with the full vet suite, and vet for Windows.
# One build serves both test and vet (go test -vet=all), so a cold cache pays
# for the compile once; the Windows vet covers every package for GOOS=windows.
test: deps test-go test-fleet vet-windows

test-go:
	@echo "== go test -vet=all ./...: builds, vets (every analyzer) and tests every package (minutes on a cold cache)"
	$(GO) test -vet=all ./...
	@echo "== go vet: the packages without tests"
	@pkgs="$$($(GO) list -f '{{if not (or .TestGoFiles .XTestGoFiles)}}{{.ImportPath}}{{end}}' ./...)"; \
	if [ -n "$$pkgs" ]; then echo "$(GO) vet $$pkgs"; $(GO) vet $$pkgs; fi

# hnspath fleet needs client-go, which triples the binary and makes a cold build
# several times slower, so it is built only with -tags fleet (make build-fleet).
test-fleet:
	@echo "== go test -tags fleet: the fleet command and its Kubernetes objects (client-go: minutes on a cold cache)"
	$(GO) test -tags fleet -vet=all ./fleet
	$(GO) test -tags fleet -vet=all ./cmd/hnspath -run 'Fleet|RunShard'

build-fleet:
	$(GO) build -tags fleet -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hnspath

vet-windows:
	@echo "== GOOS=windows go vet ./...: the Windows build of every package, hcsshim included (minutes on a cold cache)"
	GOOS=windows $(GO) vet ./...

vet:
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...

deps:
	./scripts/deps.sh

# check = tests with vet (also for Windows) + a smoke run of every emulator benchmark.
check: test-go vet-windows
	$(GO) test -run='^$$' -bench=. -benchtime=100x ./emulator/...

# The soak: 2M flows per mode over 80 h of virtual time (every timeout crossed),
# failing on any frame not delivered or on heap growth (docs/reliability-bounds.md).
soak:
	HNSPATH_SOAK=1 $(GO) test ./bench/workload -run '^TestSoak$$' -v -count=1 -timeout 3h

# Each fuzz target for FUZZTIME.
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

# A quick benchmark suite; results under $(OUT)/bench: go-bench.txt (the
# emulator's Go benchmarks), bench.txt (Go benchmark format, for benchstat)
# and bench.json (every workload, on 1 and 2 cores, with its copy reference).
BENCHTIME  ?= 200ms
BENCHFLAGS ?= --quick --cores 1,2
bench: build
	mkdir -p $(OUT)/bench
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) -count=1 -pgo=$(PGO) ./emulator/... | tee $(OUT)/bench/go-bench.txt
	./$(BIN) bench $(BENCHFLAGS) --out $(OUT)/bench

# The profile-guided optimisation profile (go build uses cmd/hnspath/default.pgo
# for the hnspath binary; make bench passes it to the emulator's Go benchmarks):
# CPU profiles of every bench workload at 10k flows and of the emulator's Go
# benchmarks, merged. Regenerate after large changes to the datapath.
pgo: build
	mkdir -p $(OUT)/pgo
	./$(BIN) bench --trials 3 --no-progress --cpuprofile $(OUT)/pgo/bench.pprof > $(OUT)/pgo/bench.txt
	$(GO) test -run='^$$' -bench='NATEstablished|L2BridgeCrossHost' -benchtime=2s -cpuprofile $(OUT)/pgo/fabric.pprof -o $(OUT)/pgo/fabric.test ./emulator/fabric
	$(GO) test -run='^$$' -bench=. -benchtime=200ms -cpuprofile $(OUT)/pgo/vfp.pprof -o $(OUT)/pgo/vfp.test ./emulator/vfp
	$(GO) tool pprof -proto $(OUT)/pgo/bench.pprof $(OUT)/pgo/fabric.pprof $(OUT)/pgo/vfp.pprof > $(PGO)

clean:
	rm -rf bin $(OUT)
