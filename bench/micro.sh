#!/usr/bin/env bash
# Micro benchmarks of the per-request client path (issue 12): the Benchmarks/ package
# (ordo-one/benchmark, target ClientPath) measuring, through LLMKit's public API, one request
# of 30 items piece by piece: render + request, encode the HTTP body, decode the chat
# completion, parse + validate + renormalise the answer, 30 journal lines, and all of them in
# a row. Prints one table per metric (CPU time, wall clock, mallocs, throughput), rows per
# benchmark, per operation (one request of 30 items), as percentiles over the samples (a
# sample is 1,000 operations: cpuTotal is read from /proc in 10 ms ticks).
#
#   bench/micro.sh [extra options for `swift package benchmark`, e.g. --filter parse]
#
# The root package never depends on the benchmark framework (CI builds the root only).
set -euo pipefail
cd "$(dirname "$0")/.."
make -s deps
swift package --package-path Benchmarks benchmark run --target ClientPath --grouping metric --time-units microseconds --no-progress "$@"
