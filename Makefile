# hnspath: build, test, vet, fuzz and bench.
GO      ?= go
BIN     := bin/hnspath
OUT     ?= out
FUZZTIME ?= 30s
PGO     := $(CURDIR)/cmd/hnspath/default.pgo
# hnspath version prints the commit; GOFLAGS may turn Go's own VCS stamping off.
COMMIT  := $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo +dirty)
LDFLAGS := -X main.commit=$(COMMIT)

.PHONY: all build run test test-go vet check fuzz bench pgo deps clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/hnspath

# The main job: the built-in scenario library through the emulator.
run: build
	./$(BIN) run --out $(OUT)/run

# Everything the tests need (tshark, Chromium, benchstat) where it can be
# installed, then vet (also for Windows) and every test.
test: deps vet test-go

test-go:
	$(GO) test ./...

vet:
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	GOOS=windows $(GO) build -o /dev/null ./cmd/hnspath

deps:
	./scripts/deps.sh

# check = vet + tests + a smoke run of every emulator benchmark (STYLE.md §4).
check: vet test-go
	$(GO) test -run='^$$' -bench=. -benchtime=100x ./emulator/...

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
