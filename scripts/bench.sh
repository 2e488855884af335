#!/usr/bin/env bash
# File benchmarks: sonde against sysdig 0.29.3 on several captures and
# filters, in the same run (a benchmark, not a test).
#
#   scripts/bench.sh [MIN_EVENTS]        (default 1000000)
#
# Environment: SONDE_TRACES (default ../shared/traces), RUNS (hyperfine runs
# per command, default 5), BENCH_DIR (default a temp dir), SONDE_BASE (an
# older sonde binary timed in the same run, for refactors), NO_NET=1 (skip
# the live-recorded nginx capture). Needs hyperfine, sysdig, and for the
# network capture root, nginx and wrk.
#
# Captures (each made to hold at least MIN_EVENTS events by repeating its
# event blocks with shifted timestamps, crates/scap/examples/scapgen.rs):
#   curl   curl_google.scap (a client: DNS, TLS, files)
#   files  falco_open-multiple-files.scap (opens, reads, closes)
#   net    nginx serving wrk on loopback, recorded live by sonde (server
#          traffic: accept, read, write, close on sockets)
# Every command runs RUNS times with its output to /dev/null; the table
# shows hyperfine's median per command, the ratio sysdig/sonde, and at the
# end the minimum ratio per kind of run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MIN_EVENTS="${1:-1000000}"
TRACES="${SONDE_TRACES:-$ROOT/../shared/traces}"
RUNS="${RUNS:-5}"
SYSDIG="${SYSDIG:-sysdig}"
BASE="${SONDE_BASE:-}"
if [[ -n "${BENCH_DIR:-}" ]]; then
    DIR="$BENCH_DIR"
    mkdir -p "$DIR"
else
    DIR="$(mktemp -d)"
    trap 'rm -rf "$DIR"' EXIT
fi
for t in hyperfine "$SYSDIG" jq; do
    command -v "$t" >/dev/null || { echo "bench: $t not found" >&2; exit 2; }
done

cd "$ROOT"
echo "== building (release)" >&2
cargo build --release --quiet -p sonde -p sonde-scap --bins --examples
cargo build --release --quiet -p sonde-probe --example syscall_loop
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
SONDE="$TARGET/release/sonde"
GEN="$TARGET/release/examples/scapgen"

# the bare-syscall baseline of this machine, printed beside the figures
GETPPID_NS=$("$TARGET/release/examples/syscall_loop" getppid 5000000 2>/dev/null |
    awk '{printf "%.0f ns (cpu %.0f ns)", $4, $5}' || true)

make_net_capture() { # records nginx under wrk with sonde (classic layout)
    local out=$1
    [[ $(id -u) -eq 0 ]] && command -v nginx >/dev/null && command -v wrk >/dev/null || return 1
    local nd="$DIR/nginx"
    mkdir -p "$nd/html" "$nd/logs"
    head -c 2048 /dev/urandom | base64 >"$nd/html/index.html"
    cat >"$nd/nginx.conf" <<NGX
worker_processes 1;
pid $nd/nginx.pid;
error_log $nd/logs/error.log;
events { worker_connections 256; }
http {
    access_log off;
    server { listen 127.0.0.1:18089; root $nd/html; }
}
NGX
    nginx -c "$nd/nginx.conf" -p "$nd" || return 1
    sleep 0.3
    "$SONDE" -w "$out" -n "$MIN_EVENTS" "proc.name in (nginx, wrk)" >/dev/null 2>&1 &
    local sp=$!
    sleep 1.5
    timeout 20 wrk -t 1 -c 8 -d 8s http://127.0.0.1:18089/ >/dev/null 2>&1 || true
    kill -INT $sp 2>/dev/null || true
    wait $sp 2>/dev/null || true
    kill "$(cat "$nd/nginx.pid")" 2>/dev/null || true
    [[ -s $out ]]
}

declare -A CAP
echo "== generating captures of at least $MIN_EVENTS events" >&2
"$GEN" "$TRACES/curl_google.scap" "$DIR/curl.scap" "$MIN_EVENTS" >&2
CAP[curl]="$DIR/curl.scap"
"$GEN" "$TRACES/falco_open-multiple-files.scap" "$DIR/files.scap" "$MIN_EVENTS" >&2
CAP[files]="$DIR/files.scap"
ORDER=(curl files)
if [[ "${NO_NET:-0}" != 1 ]] && make_net_capture "$DIR/net0.scap"; then
    "$GEN" "$DIR/net0.scap" "$DIR/net.scap" "$MIN_EVENTS" >&2
    CAP[net]="$DIR/net.scap"
    ORDER+=(net)
else
    echo "bench: no network capture (needs root, nginx and wrk; or NO_NET=1)" >&2
fi

F10='(evt.type in (open, openat, read, write, close, connect, sendto, recvfrom) or evt.type=execve) and proc.name=curl and evt.dir=< and not fd.name contains /proc and (fd.typechar=f or fd.typechar=4 or fd.typechar=6) and thread.tid>1 and proc.pid!=0 and not fd.name startswith /dev/pts and evt.cpu>=0 and user.uid>=0'
FILTERS=(
    "proc.name=curl"
    "evt.type=open"
    "$F10"
    # an expensive clause first
    "fd.name contains /etc and evt.type in (open, openat) and evt.dir=<"
    # a negated type list
    "not evt.type in (read, write, recvfrom, sendto, close, poll, epoll_wait, futex)"
    # contains on fd.name
    "fd.name contains .so"
    # an in list of names
    "proc.name in (curl, nginx, wrk, cat, bash, sh, sshd)"
    # mixed or
    "evt.type=connect or fd.sport=80 or fd.sport=18089 or proc.name=cat or evt.failed=true"
)

# hyperfine, median seconds of each command (sonde, sysdig[, base])
time3() {
    local json="$DIR/hf.json" cmds=()
    cmds=("$SONDE $*" "$SYSDIG $*")
    [[ -n $BASE ]] && cmds+=("$BASE $*")
    local prep=()
    [[ -n ${PREPARE:-} ]] && prep=(--prepare "$PREPARE")
    hyperfine -N --style none --warmup 1 --runs "$RUNS" "${prep[@]}" --export-json "$json" "${cmds[@]}" >/dev/null 2>&1 ||
        hyperfine -N --style none --warmup 1 --runs "$RUNS" "${prep[@]}" -i --export-json "$json" "${cmds[@]}" >/dev/null 2>&1
    jq -r '[.results[].median] | map(tostring) | join(" ")' "$json"
}

q() { printf "'%s'" "$1"; }
declare -A MINR
note_min() { # kind ratio
    local k=$1 r=$2
    if [[ -z ${MINR[$k]:-} ]] || awk -v a="$r" -v b="${MINR[$k]}" 'BEGIN{exit !(a<b)}'; then MINR[$k]=$r; fi
}
row() { # kind label args...
    local kind=$1 label=$2; shift 2
    local s y b r
    read -r s y b < <(time3 "$@")
    r=$(awk -v s="$s" -v y="$y" 'BEGIN{printf "%.1f", (s > 0 ? y / s : 0)}')
    note_min "$kind" "$r"
    if [[ -n $BASE ]]; then
        awk -v l="$label" -v s="$s" -v y="$y" -v b="$b" -v r="$r" 'BEGIN {
            printf "| %-40.40s | %7.3f s | %7.3f s | %5sx | %7.3f s | %+5.1f%% |\n", l, s, y, r, b, (b > 0 ? (s / b - 1) * 100 : 0) }'
    else
        awk -v l="$label" -v s="$s" -v y="$y" -v r="$r" 'BEGIN {
            printf "| %-40.40s | %7.3f s | %7.3f s | %5sx |\n", l, s, y, r }'
    fi
}

echo
echo "sonde vs $("$SYSDIG" --version 2>/dev/null | head -1); $(nproc) cores; medians of $RUNS runs (hyperfine), output to /dev/null"
[[ -n $GETPPID_NS ]] && echo "machine baseline: bare getppid $GETPPID_NS"
for c in "${ORDER[@]}"; do
    big=${CAP[$c]}
    n=$("$SONDE" -r "$big" -q -S 2>/dev/null | awk 'NR>3 {s+=$NF} END {print s+0}')
    echo
    echo "### capture '$c': $n events, $(du -m "$big" | cut -f1) MB"
    echo
    if [[ -n $BASE ]]; then
        echo "| run | sonde | sysdig | speedup | sonde (base) | vs base |"
        echo "|---|---|---|---|---|---|"
    else
        echo "| run | sonde | sysdig | speedup |"
        echo "|---|---|---|---|"
    fi
    row read "-r BIG" -r "$big"
    for f in "${FILTERS[@]}"; do
        row filter "-r BIG $f" -r "$big" "$f"
    done
    # over the file the previous run wrote, then to a name that does not
    # exist yet (no old file to free: the copy alone)
    row write "-r BIG -w out.scap" -r "$big" -w "$DIR/out.scap"
    PREPARE="rm -f $DIR/new.scap" row write "-r BIG -w new.scap (a new file)" -r "$big" -w "$DIR/new.scap"
    rm -f "$DIR/out.scap" "$DIR/new.scap"
done
echo
echo "minimum ratio over captures: plain read ${MINR[read]}x, filters ${MINR[filter]}x, -w ${MINR[write]}x"
