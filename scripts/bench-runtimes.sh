#!/usr/bin/env bash
# `npm run bench:runtimes [-- ARGS]`: `npm run bench` on the system's Node and on Node 22 and 24 (SIMPLEBB_RUNTIMES),
# one after another, each runtime's figures in bench/results/RUNTIME/ and its printout in bench/results/RUNTIME.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >/dev/null
. scripts/runtimes.sh
runtimes_keep_system
trap runtimes_restore EXIT
for rt in $RUNTIMES; do
  use_runtime "$rt"
  version=$("$RUNTIME_BIN/node" --version)
  echo "== npm run bench on node $version"
  mkdir -p "bench/results/$version"
  PATH="$RUNTIME_BIN:$PATH" SIMPLEBB_BENCH_RESULTS="bench/results/$version" node dist/bench/run.js "$@" | tee "bench/results/$version.txt"
done
