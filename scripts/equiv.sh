#!/usr/bin/env bash
# Byte-identity check for refactors: runs two sonde binaries over every
# shared trace with the golden flag sets and the filter corpus, and compares
# the sha256 of stdout, stderr and the exit code of each run.
#
#   scripts/equiv.sh OLD_SONDE NEW_SONDE [TRACES_DIR]
#
# Prints one line per differing run and a summary; exits 1 on any difference.
set -uo pipefail
old=${1:?usage: equiv.sh OLD NEW [TRACES]}
new=${2:?usage: equiv.sh OLD NEW [TRACES]}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
traces=${3:-${SONDE_TRACES:-$root/../shared/traces}}
export TZ=UTC
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

flagsets=(
  "" "-j" "-pc" "-pk" "-pm" "-pp" "-t a" "-t r" "-A" "-x" "-D" "-X" "-b" "-t d" "-t D"
  "-v" "-S" "-n 500 -S" "-j -A" "-j -D" "-j -pc" "-j -x" "-q -S" "-n 10" "-r"
)
formats=(
  "%evt.num %5evt.cpu %12proc.name %3evt.type %evt.arg.fd"
  "*%evt.num %evt.arg.fd %evt.res %thread.vtid [%container.name]"
  "*%evt.num %fd.num %fd.name %fd.typechar %fd.type %fd.directory %fd.filename %fd.l4proto"
  "*%evt.num %fd.sip %fd.cip %fd.sport %fd.cport %fd.snet %fd.is_server"
  "*%evt.num %proc.pid %proc.ppid %proc.exe %proc.args %proc.cmdline %proc.exeline"
  "*%evt.num %proc.cwd %proc.pname %proc.pcmdline %proc.aname[2] %proc.apid[1]"
  "*%evt.num %proc.vpid %proc.sid %proc.tty %thread.ismain %proc.fdlimit %proc.vmsize"
  "*%evt.num %user.uid %user.name %group.name %user.loginuid %user.homedir"
  "*%evt.num %evt.latency %evt.rawres %evt.failed %evt.category %evt.buflen"
  "*%evt.num %evt.time %evt.datetime %evt.rawtime %evt.reltime %evt.deltatime"
  "*%evt.num %evt.is_io %evt.is_io_read %evt.buffer %evt.args %evt.info"
  "*%evt.num %container.id %container.name %container.image %container.type %k8s.pod.name"
)
n=0; bad=0
run() { # label, args...
  local label=$1; shift
  n=$((n + 1))
  "$old" "$@" >"$tmp/o.out" 2>"$tmp/o.err"; local orc=$?
  "$new" "$@" >"$tmp/n.out" 2>"$tmp/n.err"; local nrc=$?
  sed -i "s#$old#SONDE#g; s#[0-9.]* eps#eps#; s#Elapsed time: [0-9.]*#Elapsed#" "$tmp/o.err"
  sed -i "s#$new#SONDE#g; s#[0-9.]* eps#eps#; s#Elapsed time: [0-9.]*#Elapsed#" "$tmp/n.err"
  local a b
  a=$(cat "$tmp/o.out" "$tmp/o.err" | sha256sum; echo "$orc")
  b=$(cat "$tmp/n.out" "$tmp/n.err" | sha256sum; echo "$nrc")
  if [[ "$a" != "$b" ]]; then
    bad=$((bad + 1))
    echo "DIFF: $label (exit $orc -> $nrc)"
  fi
}
for t in "$traces"/*.scap* "$root"/crates/cli/tests/traces/*.scap*; do
  [[ -f $t ]] || continue
  tn=$(basename "$t")
  for f in "${flagsets[@]}"; do
    # shellcheck disable=SC2086
    run "$tn $f" -r "$t" $f
  done
  for p in "${formats[@]}"; do run "$tn -p '$p'" -r "$t" -p "$p"; done
  while IFS= read -r flt; do
    [[ -z $flt || $flt == \#* ]] && continue
    flt=${flt%% => *}
    run "$tn '$flt'" -r "$t" "$flt"
  done <"$root/crates/cli/tests/filters.txt"
  # writing: the written file, read back, must be the same
  "$old" -r "$t" -w "$tmp/o.scap" >/dev/null 2>&1
  "$new" -r "$t" -w "$tmp/n.scap" >/dev/null 2>&1
  n=$((n + 1))
  if ! cmp -s "$tmp/o.scap" "$tmp/n.scap"; then bad=$((bad + 1)); echo "DIFF: $tn -w"; fi
  "$old" -r "$t" -w "$tmp/o.scap" evt.type=open >/dev/null 2>&1
  "$new" -r "$t" -w "$tmp/n.scap" evt.type=open >/dev/null 2>&1
  n=$((n + 1))
  if ! cmp -s "$tmp/o.scap" "$tmp/n.scap"; then bad=$((bad + 1)); echo "DIFF: $tn -w evt.type=open"; fi
done
# bad input
run "missing file" -r /nonexistent.scap
run "bad filter" -r "$traces/curl_google.scap" "evt.type=open and ("
run "bad flag" --no-such-flag
run "list" -l
run "list events" -L
echo "equiv: $n runs, $bad differ"
[[ $bad -eq 0 ]]
