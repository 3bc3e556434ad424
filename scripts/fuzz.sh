#!/usr/bin/env bash
# Runs every Go fuzz target of the repository for a bounded time each.
set -euo pipefail
t=${1:-15s}
for dir in $(git ls-files '*_test.go' | xargs grep -l '^func Fuzz' | xargs -n1 dirname | sort -u); do
  for f in $(grep -h '^func Fuzz' "$dir"/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/' | sort -u); do
    echo "== $dir $f ($t)"
    go test "./$dir" -run '^$' -fuzz "^$f\$" -fuzztime "$t"
  done
done
