#!/usr/bin/env bash
# Benchmarks sonde against sysdig on a large capture (not part of the tests).
#
#   scripts/bench.sh [MIN_EVENTS]        (default 1000000)
#
# Environment: SONDE_TRACES (default ../shared/traces beside the repo),
# BENCH_TRACE (default curl_google.scap), BENCH_DIR (default a temp dir),
# RUNS (default 3). Needs sysdig and /usr/bin/time (package `time`).
#
# Builds BIG by repeating the trace's event blocks with shifted timestamps
# (crates/scap/examples/scapgen.rs), checks that sysdig reads it, then times
# `sonde -r BIG` and `sysdig -r BIG` (output to /dev/null) in the same run,
# RUNS times each, and reports the best wall time and its peak RSS. Finally it
# prints the engine rate (decode, decode + state; one core, no output).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MIN_EVENTS="${1:-1000000}"
TRACES="${SONDE_TRACES:-$ROOT/../shared/traces}"
TRACE="$TRACES/${BENCH_TRACE:-curl_google.scap}"
RUNS="${RUNS:-3}"
SYSDIG="${SYSDIG:-sysdig}"
if [[ -n "${BENCH_DIR:-}" ]]; then
    DIR="$BENCH_DIR"
    mkdir -p "$DIR"
else
    DIR="$(mktemp -d)"
    trap 'rm -rf "$DIR"' EXIT
fi
BIG="$DIR/big.scap"

[[ -r "$TRACE" ]] || { echo "bench: no trace at $TRACE (set SONDE_TRACES)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
command -v "$SYSDIG" >/dev/null || { echo "bench: $SYSDIG not found" >&2; exit 2; }

cd "$ROOT"
echo "== building (release)" >&2
cargo build --release --quiet -p sonde -p sonde-scap --bins --examples
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
SONDE="$TARGET/release/sonde"

echo "== generating $BIG from $(basename "$TRACE")" >&2
"$TARGET/release/examples/scapgen" "$TRACE" "$BIG" "$MIN_EVENTS" >&2
"$SYSDIG" -r "$BIG" | tail -n 1 >&2 # sysdig must read it to the end

# best of RUNS (least disturbed by other load): prints "wall_seconds peak_rss_kb"
measure() {
    local i out
    for ((i = 0; i < RUNS; i++)); do
        /usr/bin/time -o "$DIR/time.out" -f '%e %M' "$@" >/dev/null 2>/dev/null || true
        tail -n 1 "$DIR/time.out"
    done | sort -n | head -n 1
}

row() { # label, then sonde args... -- sysdig args...
    local label="$1"; shift
    local sa=() ya=()
    while [[ "$1" != "--" ]]; do sa+=("$1"); shift; done
    shift
    ya=("$@")
    read -r sw sm < <(measure "$SONDE" "${sa[@]}")
    read -r yw ym < <(measure "$SYSDIG" "${ya[@]}")
    awk -v l="$label" -v sw="$sw" -v sm="$sm" -v yw="$yw" -v ym="$ym" 'BEGIN {
        printf "| %-28s | %8.2f s | %8.2f s | %6.1fx | %8.1f MB | %8.1f MB |\n",
            l, sw, yw, (sw > 0 ? yw / sw : 0), sm / 1024, ym / 1024 }'
}

EVENTS=$("$TARGET/release/examples/scapdump" "$BIG" | tail -n 1 | awk '{print $2}')
echo
echo "capture: $(basename "$TRACE") x N = $EVENTS events, $(du -m "$BIG" | cut -f1) MB uncompressed; $(nproc) cores; best of $RUNS"
echo
echo "| run                          |  sonde     |  sysdig    | speedup | sonde RSS   | sysdig RSS  |"
echo "|------------------------------|------------|------------|---------|-------------|-------------|"
row "-r BIG > /dev/null" -r "$BIG" -- -r "$BIG"
if "$SONDE" -r "$TRACE" proc.name=curl >/dev/null 2>&1; then
    row "-r BIG proc.name=curl" -r "$BIG" proc.name=curl -- -r "$BIG" proc.name=curl
    row "-r BIG evt.type=open" -r "$BIG" evt.type=open -- -r "$BIG" evt.type=open
    # issue 4: a ten-clause filter mixing proc., fd. and evt. fields
    F10='(evt.type in (open, openat, read, write, close, connect, sendto, recvfrom) or evt.type=execve) and proc.name=curl and evt.dir=< and not fd.name contains /proc and (fd.typechar=f or fd.typechar=4 or fd.typechar=6) and thread.tid>1 and proc.pid!=0 and not fd.name startswith /dev/pts and evt.cpu>=0 and user.uid>=0'
    row "-r BIG <10-clause filter>" -r "$BIG" "$F10" -- -r "$BIG" "$F10"
else
    echo "| -r BIG proc.name=curl        | (filters not supported yet: skipped)                                   |"
fi
# issue 6: writing (the same events out again), plain and gzip
row "-r BIG -w out.scap" -r "$BIG" -w "$DIR/out-sonde.scap" -- -r "$BIG" -w "$DIR/out-sysdig.scap"
row "-r BIG -w out.scap -z" -r "$BIG" -w "$DIR/out-sonde.scap.gz" -z -- -r "$BIG" -w "$DIR/out-sysdig.scap.gz" -z
echo "| (sizes with -z: sonde $(du -m "$DIR/out-sonde.scap.gz" | cut -f1) MB, sysdig $(du -m "$DIR/out-sysdig.scap.gz" | cut -f1) MB) |"
rm -f "$DIR"/out-sonde.scap* "$DIR"/out-sysdig.scap*
if command -v gzip >/dev/null; then
    gzip -1 -c "$BIG" >"$BIG.gz"
    row "-r BIG.gz > /dev/null" -r "$BIG.gz" -- -r "$BIG.gz"
    rm -f "$BIG.gz"
fi
if [[ "${BENCH_CHECK:-1}" == 1 ]]; then
    if cmp -s <("$SONDE" -r "$BIG") <("$SYSDIG" -r "$BIG"); then
        echo; echo "output check: sonde and sysdig print identical text for BIG"
    else
        echo; echo "output check: sonde and sysdig output DIFFER for BIG"
    fi
fi
echo
echo "engine rate (one core, no output):"
"$TARGET/release/examples/engine_rate" "$BIG" "$RUNS"
