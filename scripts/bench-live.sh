#!/usr/bin/env bash
# Live capture benchmark (issue 5; a benchmark, not a test).
#
#   sudo scripts/bench-live.sh            (root: it loads the eBPF probe)
#
# What it measures, in one run:
#
#   workloads (crates/probe/examples/syscall_loop.rs, and dd):
#     getppid   N getppid() calls in a tight loop
#     read      N 1-byte read()s from /dev/zero
#     dd        dd if=/dev/zero of=/dev/null bs=1 count=N (a read and a write per byte)
#   each under these configurations:
#     a    no capture
#     b0   probe attached, every syscall filtered out in the kernel (empty
#          syscall map; crates/probe/examples/probe_hold.rs `none`, whose counters
#          show that only procexit events reach user space)
#     b    `sonde evt.type=ptrace > /dev/null`: sonde with a filter nothing here
#          matches; the CLI makes the filter's event types (plus the syscalls the
#          state engine needs) the kernel's syscall set, so the workload's
#          syscalls stay in the kernel
#     p    bare probe: every syscall traced, events drained and counted, no state
#          and no formatting (probe_hold `all nolatency`: as sonde runs when
#          nothing reads latencies)
#     c    `sonde > /dev/null`, no filter: full capture, printed
#     cL   `sonde evt.latency>=0 > /dev/null`: the same output, with syscall
#          latencies measured (a filter that reads them turns on the enter
#          timestamps in the kernel)
#     c#   the same printed to a tmpfs file, only to count the lines (events) that
#          reached the output; the file is deleted right away
#   and reports ns per syscall of the workload (dd: wall time / 2N; getppid runs
#   BENCH_REPS times back to back in each configuration: median, and min-max;
#   "cpu": the workload's own user+system ns per syscall, which unlike wall
#   time does not count time it waited for a CPU), events that
#   reached user space (and per second of workload), drops (probe counters; sonde
#   prints them on exit only when non-zero), and the tracer's CPU (user+sys from
#   workload start to its exit, after SIGINT, as % of one core over the workload's
#   wall time; above 100% means it could not keep up) and how long it took to
#   catch up after the workload ended.
#
#   memory: a fork storm of FORKS fork()+_exit(0) children (syscall_loop fork)
#   while `sonde > /dev/null` captures: sonde's peak RSS (VmHWM) minus the
#   resident part of its ring buffer mapping (from /proc/PID/smaps). sonde cannot
#   show its thread table, so reap_check (crates/probe/examples/reap_check.rs)
#   runs beside it: the state engine fed by the probe, counting exited threads
#   still in the table at the end.
#
# Environment: BENCH_CALLS (N, default 5000000), BENCH_FORKS (default 100000),
# SONDE_BIN (the sonde binary to measure, default the release build),
# BENCH_WORKLOADS (default "getppid read dd"),
# BENCH_REPS (runs of the getppid loop per configuration, default 3),
# BENCH_NICE (niceness of tracers and workloads, default -10, to be less at the
# mercy of other load), CARGO_TARGET_DIR. Runs a few minutes (about 2.5 on a
# 2 vCPU VM). Safe to rerun: everything it starts is stopped on exit (also on
# Ctrl-C) and its temporary files are removed. Other load on the machine skews
# the numbers; the load average is printed with them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${BENCH_CALLS:-5000000}"
FORKS="${BENCH_FORKS:-100000}"
REPS="${BENCH_REPS:-3}"
NICE="${BENCH_NICE:--10}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
SONDE="${SONDE_BIN:-$TARGET/release/sonde}"
EX="$TARGET/release/examples"

die() { echo "bench-live: $*" >&2; exit 2; }
[[ $EUID -eq 0 ]] || die "needs root (live capture)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (apt-get install time)"

DIR="$(mktemp -d /tmp/bench-live.XXXXXX)"
SHM="${BENCH_SHM:-/dev/shm}"
[[ -d "$SHM" && -w "$SHM" ]] || SHM="$DIR"
COUNTF="$SHM/bench-live.$$.out"
STARTED=() # pids of tracers we started (/usr/bin/time wrappers and their child)
cleanup() {
    local p
    for p in "${STARTED[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in "${STARTED[@]}"; do
        case "$(ps -o comm= -p "$p" 2>/dev/null)" in
        time | sonde | probe_hold | reap_check) kill -KILL "$p" 2>/dev/null || true ;;
        esac
    done
    rm -rf "$DIR" "$COUNTF"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building (release)" >&2
(cd "$ROOT" && cargo build --release --quiet -p sonde -p sonde-probe --bins --examples)

HZ="$(getconf CLK_TCK)"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now_ns() { date +%s%N; }
# bytes of the ring buffer (and other BPF maps) resident in the process
ring_kb() {
    awk '/anon_inode:bpf-map/ {m = 1; next} /^[0-9a-f]+-[0-9a-f]+ / {m = 0}
         m && /^Rss:/ {s += $2} END {print s + 0}' "/proc/$1/smaps"
}
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# start_tracer TAG OUT CMD...: starts CMD (stdout to OUT) under /usr/bin/time,
# waits until its probe is attached; sets TP (time's pid) and SP (CMD's pid).
start_tracer() {
    local tag="$1" out="$2" i n
    shift 2
    nice -n "$NICE" /usr/bin/time -f '%U %S %M' -o "$DIR/$tag.time" "$@" >"$out" 2>"$DIR/$tag.err" &
    TP=$!
    STARTED+=("$TP")
    SP=""
    for ((i = 0; i < 200; i++)); do
        SP="$(pgrep -P "$TP" | head -n 1 || true)"
        [[ -n "$SP" ]] && break
        sleep 0.05
    done
    [[ -n "$SP" ]] || die "$tag did not start"
    STARTED+=("$SP")
    # attached: its 5 programs have links (sys_enter/exit, fork, exec, exit)
    for ((i = 0; i < 600; i++)); do
        n="$(ls -l "/proc/$SP/fd" 2>/dev/null | grep -c 'bpf_link' || true)"
        [[ "$n" -ge 5 ]] && break
        kill -0 "$SP" 2>/dev/null || { cat "$DIR/$tag.err" >&2; die "$tag exited"; }
        sleep 0.05
    done
    [[ "$n" -ge 5 ]] || die "$tag did not attach"
    sleep 1 # let it finish reading /proc and drain what came meanwhile
}

# stop_tracer TAG: SIGINT, wait (killed after 120 s); sets CPU_S (user+sys over
# the run), CATCHUP_S, RSS_KB (peak), ERR (its stderr)
stop_tracer() {
    local tag="$1" t0
    t0="$(now_ns)"
    kill -INT "$SP" 2>/dev/null || true
    timeout 120 tail --pid="$SP" -s 0.05 -f /dev/null || kill -KILL "$SP" 2>/dev/null || true
    wait "$TP" || true
    # stopped, and their pids may soon be reused: never signal them again
    local p keep=()
    for p in "${STARTED[@]}"; do [[ "$p" == "$TP" || "$p" == "$SP" ]] || keep+=("$p"); done
    STARTED=("${keep[@]}")
    CATCHUP_S="$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN {printf "%.2f", (b - a) / 1e9}')"
    read -r u s RSS_KB <"$DIR/$tag.time" || true
    CPU_S="$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')"
    ERR="$(cat "$DIR/$tag.err")"
}

# run_once NAME: prints "ns_per_syscall wall_seconds cpu_ns_per_syscall" (the
# workload's own CPU time, which does not count time it waited for a CPU;
# "-" for dd)
run_once() {
    local t0 t1
    case "$1" in
    getppid | read)
        nice -n "$NICE" "$EX/syscall_loop" "$1" "$N" | awk '{printf "%.0f %.3f %.0f\n", $4, $3 / 1e9, $5}'
        ;;
    dd)
        t0="$(now_ns)"
        nice -n "$NICE" dd if=/dev/zero of=/dev/null bs=1 count="$N" 2>/dev/null
        t1="$(now_ns)"
        awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN {printf "%.0f %.3f -\n", (b - a) / (2 * n), (b - a) / 1e9}'
        ;;
    esac
}

# run_workload NAME: runs it REPS times (getppid) or once (read, dd); sets NS
# (median ns per syscall), NSR (with min-max when repeated, and the median
# CPU ns per syscall) and WALL_S (total)
run_workload() {
    local reps=1 i res
    [[ "$1" == getppid ]] && reps="$REPS"
    res="$(for ((i = 0; i < reps; i++)); do run_once "$1"; done)"
    NS="$(sort -n <<<"$res" | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')"
    WALL_S="$(awk '{w += $2} END {printf "%.3f", w}' <<<"$res")"
    NSR="$NS"
    ((reps > 1)) && NSR="$NS ($(sort -n <<<"$res" | awk 'NR == 1 {a = $1} {b = $1} END {print a "-" b}'))"
    local cpu
    cpu="$(awk '{print $3}' <<<"$res" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')"
    [[ "$cpu" == "-" ]] || NSR="$NSR; cpu $cpu"
    return 0
}

# drops from a tracer's stderr: probe_hold/reap_check print drops=N, sonde
# prints "sonde: N events dropped" only when N > 0
drops_of() {
    local d
    d="$(grep -o 'drops=[0-9]*' <<<"$1" | head -n 1 | cut -d= -f2 || true)"
    [[ -n "$d" ]] || d="$(grep -o '^sonde: [0-9]* events dropped' <<<"$1" | awk '{print $2}' || true)"
    echo "${d:-0}"
}

ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 | $5 | $6 | $7 | $8 | $9 |"); }
pct() { awk -v c="$1" -v w="$2" 'BEGIN {printf "%.0f%%", 100 * c / w}'; }
per_s() { awk -v n="$1" -v w="$2" 'BEGIN {r = n / w; if (r >= 1e5) printf "%.2fM", r / 1e6; else printf "%.0f", r}'; }
ratio() { awk -v x="$1" -v b="$2" 'BEGIN {printf "%.2fx", x / b}'; }

# one configuration with a tracer: tag, workload, tracer stdout, tracer command...
traced() {
    local tag="$1" w="$2" out="$3" c0
    shift 3
    start_tracer "$tag" "$out" "$@"
    c0="$(ticks "$SP")"
    run_workload "$w"
    stop_tracer "$tag"
    CPU_S="$(awk -v t="$CPU_S" -v c="$c0" -v hz="$HZ" 'BEGIN {printf "%.2f", t - c / hz}')"
    DROPS="$(drops_of "$ERR")"
    EVENTS="$(grep -o 'events=[0-9]*' <<<"$ERR" | head -n 1 | cut -d= -f2 || true)"
}

echo "== machine: $(nproc) CPUs, kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
OTHER="$(for f in /proc/[0-9]*/fd/*; do readlink "$f"; done 2>/dev/null | grep -c bpf_link || true)"
echo "== BPF links held by other processes before the run: $OTHER" >&2

# background: what the rest of the machine makes the probe deliver
start_tracer bg /dev/null "$EX/probe_hold" all
sleep 3
stop_tracer bg
BG="$(grep -o 'events=[0-9]*' <<<"$ERR" | cut -d= -f2)"
BG_S="$(grep -o 'secs=[0-9.]*' <<<"$ERR" | cut -d= -f2)"
echo "== background: $(per_s "$BG" "$BG_S") events/s with no workload" >&2

for w in ${BENCH_WORKLOADS:-getppid read dd}; do
    echo "== $w" >&2
    run_workload "$w"
    BASE="$NS"
    row "$w" "a: no capture" "$NSR" "1.00x" "-" "-" "-" "-" "-"

    traced "b0-$w" "$w" /dev/null "$EX/probe_hold" none
    row "$w" "b0: probe only, empty kernel syscall set" "$NSR" "$(ratio "$NS" "$BASE")" \
        "$EVENTS" "$(per_s "$EVENTS" "$WALL_S")" "$DROPS" "$CPU_S s ($(pct "$CPU_S" "$WALL_S"))" "$CATCHUP_S"

    traced "b-$w" "$w" /dev/null "$SONDE" evt.type=ptrace
    row "$w" "b: sonde evt.type=ptrace (filtered in kernel)" "$NSR" "$(ratio "$NS" "$BASE")" \
        "(not shown)" "-" "$DROPS" "$CPU_S s ($(pct "$CPU_S" "$WALL_S"))" "$CATCHUP_S"
    B_NS="$NS"

    traced "p-$w" "$w" /dev/null "$EX/probe_hold" all nolatency
    row "$w" "p: bare probe, drained and counted" "$NSR" "$(ratio "$NS" "$BASE")" \
        "$EVENTS" "$(per_s "$EVENTS" "$WALL_S")" "$DROPS" "$CPU_S s ($(pct "$CPU_S" "$WALL_S"))" "$CATCHUP_S"

    traced "c-$w" "$w" /dev/null "$SONDE"
    row "$w" "**c: sonde > /dev/null**" "**$NSR**" "$(ratio "$NS" "$BASE"), **$(ratio "$NS" "$B_NS") of b**" \
        "(see c#)" "-" "$DROPS" "$CPU_S s ($(pct "$CPU_S" "$WALL_S"))" "$CATCHUP_S"

    traced "cL-$w" "$w" /dev/null "$SONDE" 'evt.latency>=0'
    row "$w" "cL: sonde evt.latency>=0 > /dev/null (latency measured)" "$NSR" "$(ratio "$NS" "$BASE"), $(ratio "$NS" "$B_NS") of b" \
        "-" "-" "$DROPS" "$CPU_S s ($(pct "$CPU_S" "$WALL_S"))" "$CATCHUP_S"

    traced "n-$w" "$w" "$COUNTF" "$SONDE"
    LINES="$(wc -l <"$COUNTF")"
    rm -f "$COUNTF"
    row "$w" "c#: sonde > tmpfs file (counted)" "$NSR" "$(ratio "$NS" "$BASE")" \
        "$LINES" "$(per_s "$LINES" "$WALL_S")" "$DROPS" "$CPU_S s ($(pct "$CPU_S" "$WALL_S"))" "$CATCHUP_S"
done

echo "== fork storm: $FORKS x fork()+_exit(0) while sonde > /dev/null captures" >&2
nice -n "$NICE" "$EX/syscall_loop" fork 1000 >/dev/null # warm up
start_tracer reap /dev/null "$EX/reap_check"
RP="$SP" RTP="$TP"
start_tracer storm /dev/null "$SONDE"
HWM0="$(hwm_kb "$SP")"
STORM="$(nice -n "$NICE" "$EX/syscall_loop" fork "$FORKS")"
sleep 1
HWM1="$(hwm_kb "$SP")"
RING="$(ring_kb "$SP")"
stop_tracer storm
STORM_DROPS="$(drops_of "$ERR")"
STORM_CPU="$CPU_S"
SP="$RP" TP="$RTP"
stop_tracer reap
REAP="$(grep -o 'reap_check:.*' <<<"$ERR" || echo "reap_check: no report")"
STORM_S="$(awk '{printf "%.1f", $3 / 1e9}' <<<"$STORM")"
STORM_US="$(awk '{printf "%.0f", $4 / 1e3}' <<<"$STORM")"

cat <<EOF

Machine: $(nproc) vCPU, kernel $(uname -r), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM; load average at the end $(cut -d' ' -f1-3 /proc/loadavg); background $(per_s "$BG" "$BG_S") events/s; N = $N.

| workload | configuration | ns/syscall | vs a | events to user space | events/s | drops | tracer CPU (% of a core) | catch-up s |
|---|---|---|---|---|---|---|---|---|
EOF
printf '%s\n' "${ROWS[@]}"
cat <<EOF

Fork storm: $FORKS fork()+_exit(0) in ${STORM_S} s (${STORM_US} µs each) under \`sonde > /dev/null\`:
sonde VmHWM $((HWM0 / 1024)) MiB after attach, $((HWM1 / 1024)) MiB after the storm;
ring buffer resident ${RING} KiB, so $(((HWM1 - RING) / 1024)) MiB without it; sonde CPU ${STORM_CPU} s; drops ${STORM_DROPS}.
Thread table: $REAP
EOF
