#!/usr/bin/env bash
# `sonde top --raw` against `csysdig --raw` (sysdig 0.29.3) on captures of
# at least MIN_EVENTS events (a benchmark, not a test).
#
#   scripts/bench-top.sh [MIN_EVENTS]      (default 1000000)
#
# Environment: SONDE_TRACES (default ../shared/traces), RUNS (hyperfine
# runs, default 5), VIEWS (default "procs files"), BENCH_DIR (default a
# temp dir), LIVE=1 (also live: root and tmux; the UI with the Processes
# view open in a tmux pane while `syscall_loop getppid` runs, and the CPU
# the `sonde top` process used meanwhile, beside the loop's call rate and
# the bare getppid time). Captures are shared traces repeated with shifted timestamps
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
cargo build --release --quiet -p sonde-probe --example syscall_loop
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
SONDE="$TARGET/release/sonde"
GEN="$TARGET/release/examples/scapgen"

# curl: a client (DNS, TLS, files); files: opens, reads, closes; psp:
# procinfo events of a hundred threads (the CPU column); ipv6: an IPv6
# client's sockets
declare -A CAP=([curl]=curl_google [files]=falco_open-multiple-files
    [psp]=falco_psp_privileged [ipv6]=test_ipv6_client)
CAPS="curl files psp ipv6"
for c in $CAPS; do
    "$GEN" "$TRACES/${CAP[$c]}.scap" "$DIR/$c.scap" "$MIN_EVENTS" >&2
    CAP[$c]="$DIR/$c.scap"
done
GETPPID=$("$TARGET/release/examples/syscall_loop" getppid 5000000 2>/dev/null | awk '{printf "%.0f", $4}' || true)
echo "bare getppid: ${GETPPID:-?} ns" >&2

declare -A MINR MINAT
printf '| capture | view | sonde top | csysdig | speedup |\n|---|---|---|---|---|\n'
for c in $CAPS; do
    big="${CAP[$c]}"
    for v in $VIEWS; do
        if ! diff <("$SONDE" top -r "$big" --raw -v "$v" | sort) \
                  <(csysdig -r "$big" --raw -v "$v" | sort) >/dev/null; then
            echo "bench-top: $c $v: the outputs differ" >&2
        fi
        hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$DIR/h.json" \
            "$SONDE top -r $big --raw -v $v" "csysdig -r $big --raw -v $v" >/dev/null 2>&1
        s=$(jq '.results[0].median' "$DIR/h.json")
        d=$(jq '.results[1].median' "$DIR/h.json")
        r=$(echo "$d / $s" | bc -l)
        printf '| %s | %s | %.3f s | %.3f s | %.2fx |\n' "$c" "$v" "$s" "$d" "$r"
        if [[ -z "${MINR[$v]:-}" ]] || (( $(echo "$r < ${MINR[$v]}" | bc -l) )); then
            MINR[$v]=$r
            MINAT[$v]=$c
        fi
    done
done
for v in $VIEWS; do
    printf 'minimum ratio, %s: %.2fx (%s); bare getppid %s ns\n' "$v" "${MINR[$v]}" "${MINAT[$v]}" "${GETPPID:-?}"
done

[[ "${LIVE:-0}" == 1 ]] || exit 0
[[ $(id -u) -eq 0 ]] && command -v tmux >/dev/null || { echo "bench-top: LIVE needs root and tmux" >&2; exit 2; }
LOOP="$TARGET/release/examples/syscall_loop"
CALLS="${CALLS:-20000000}"
bare=$("$LOOP" getppid 5000000 | awk '{printf "%.0f", $4}')
sess="sonde-bench-top-$$"
tmux new-session -d -s "$sess" -x 200 -y 50 "$SONDE top -v procs"
trap 'tmux kill-session -t "$sess" 2>/dev/null || true' EXIT
sleep 4
pid=$(pgrep -f -n "$SONDE top -v procs")
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks "$pid"); s0=$(date +%s.%N)
out=$("$LOOP" getppid "$CALLS")
t1=$(ticks "$pid"); s1=$(date +%s.%N)
# still drawing after the storm: the UI answered throughout
tmux capture-pane -p -t "$sess" | grep -q "PID" || echo "bench-top: the UI shows no table" >&2
cpu=$(echo "($t1 - $t0) / $hz / ($s1 - $s0) * 100" | bc -l)
rate=$(echo "$out" | awk '{printf "%.2f", $2 / $3 * 1000}')
printf '\nlive: sonde top (Processes view) used %.0f%% of a core while syscall_loop made %s M getppid/s (bare getppid %s ns)\n' \
    "$cpu" "$rate" "$bare"
