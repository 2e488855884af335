#!/usr/bin/env bash
# The embedded metrics store's benchmark (issue 18):
#
#   scripts/bench-store.sh [HOURS] [SERIES]     (default 6 h x 5000 series)
#
# Writes HOURS of one-second samples of SERIES series (15 tags each, one
# batch per second through Store::write_batch) into a fresh DuckDB file,
# then prints: the ingest rate (goal >= 1M samples/s), bytes per stored
# sample after CHECKPOINT (goal <= 2.5), the median of 5 runs of three
# group-bys over the whole range (goal < 200 ms), and a bare getppid loop
# (ns/call) as the machine's baseline. Runs are not tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOURS="${1:-6}"
SERIES="${2:-5000}"
DIR="$(mktemp -d "${TMPDIR:-/tmp}/bench-store.XXXXXX")"
trap 'rm -rf "$DIR"' EXIT
cd "$ROOT"
cargo build --release -q -p sonde-store-duckdb --example bench_store
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$TARGET/release/examples/bench_store" "$DIR" "$HOURS" "$SERIES"
