#!/usr/bin/env bash
# Runs every fuzz target of the module for the given time each (default 30s).
set -euo pipefail
t=${1:-30s}
go list -f '{{.ImportPath}} {{.Dir}}' ./... | while read -r pkg dir; do
  grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u | while read -r f; do
    echo "== $pkg $f ($t)"
    # -fuzzminimizetime=1x: minimising each new input for up to 60 s (the default) counts no
    # executions meanwhile, which kept slow targets far below a million in 30 s.
    go test -run='^$' -fuzz="^${f}\$" -fuzztime="$t" -fuzzminimizetime=1x "$pkg"
  done
done
