# LLMKit: set-up, build and test. `make test` and `make demo` do all the set-up on a fresh
# Debian machine with Swift: they install the missing system packages first.

SWIFT        ?= swift
SYSTEM_DEPS  := libcurl4-openssl-dev libjansson-dev
SHARED       ?= $(abspath ../shared)
export LLMKIT_SHARED_DIR ?= $(SHARED)

.PHONY: all deps build test demo clean

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

## demo: set up, build and run the main job on the bundled data
demo: deps
	$(SWIFT) build
	@echo
	@echo "The relabel demo arrives with the llama.cpp provider (issue 3). Until then, the core on the bundled sample:"
	@echo
	$(SWIFT) run -q promptlab prompts
	$(SWIFT) run -q promptlab inspect fixtures/sample/sample.jsonl
	$(SWIFT) run -q promptlab render --prompt paper-reason --dataset fixtures/sample/sample.jsonl --limit 3

clean:
	rm -rf .build
