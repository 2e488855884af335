#!/usr/bin/env bash
# `sonde top --raw` against `csysdig --raw` (sysdig 0.29.3) on captures of
# at least MIN_EVENTS events (a benchmark, not a test).
#
#   scripts/bench-top.sh [MIN_EVENTS]      (default 1000000)
#
# Environment: SONDE_TRACES (default ../shared/traces), RUNS (hyperfine
# runs, default 5), VIEWS (default "procs files"), BENCH_DIR (default a
# temp dir). Captures are shared traces repeated with shifted timestamps
# (crates/scap/examples/scapgen.rs), as scripts/bench.sh makes them. Before
# timing, the two outputs are compared (rows sorted: csysdig's row order
# among equal values follows its hash table).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MIN_EVENTS="${1:-1000000}"
TRACES="${SONDE_TRACES:-$ROOT/../shared/traces}"
RUNS="${RUNS:-5}"
VIEWS="${VIEWS:-procs files}"
if [[ -n "${BENCH_DIR:-}" ]]; then
    DIR="$BENCH_DIR"
    mkdir -p "$DIR"
else
    DIR="$(mktemp -d)"
    trap 'rm -rf "$DIR"' EXIT
fi
for t in hyperfine csysdig jq; do
    command -v "$t" >/dev/null || { echo "bench-top: $t not found" >&2; exit 2; }
done
cd "$ROOT"
echo "== building (release)" >&2
cargo build --release --quiet -p sonde -p sonde-scap --bins --examples
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
SONDE="$TARGET/release/sonde"
GEN="$TARGET/release/examples/scapgen"

declare -A CAP
"$GEN" "$TRACES/curl_google.scap" "$DIR/curl.scap" "$MIN_EVENTS" >&2
CAP[curl]="$DIR/curl.scap"
"$GEN" "$TRACES/falco_open-multiple-files.scap" "$DIR/files.scap" "$MIN_EVENTS" >&2
CAP[files]="$DIR/files.scap"

printf '| capture | view | sonde top | csysdig | speedup |\n|---|---|---|---|---|\n'
for c in curl files; do
    big="${CAP[$c]}"
    for v in $VIEWS; do
        if ! diff <("$SONDE" top -r "$big" --raw -v "$v" | sort) \
                  <(csysdig -r "$big" --raw -v "$v" | sort) >/dev/null; then
            echo "bench-top: $c $v: the outputs differ" >&2
        fi
        hyperfine -N --runs "$RUNS" --export-json "$DIR/h.json" \
            "$SONDE top -r $big --raw -v $v" "csysdig -r $big --raw -v $v" >/dev/null 2>&1
        s=$(jq '.results[0].median' "$DIR/h.json")
        d=$(jq '.results[1].median' "$DIR/h.json")
        printf '| %s | %s | %.3f s | %.3f s | %.1fx |\n' "$c" "$v" "$s" "$d" "$(echo "$d / $s" | bc -l)"
    done
done
