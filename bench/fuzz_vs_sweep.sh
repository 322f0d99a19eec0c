#!/usr/bin/env bash
# Guided search against exhaustive search, measured in one run, on one stub
# (default linux, whose depth-3 hole is declared as a KNOWN_HOLE):
#
#   1. the fuzzer from the stub's seed corpus (corpus/STUB): time to its
#      first finding, over ROUNDS runs with libFuzzer seeds 1..ROUNDS;
#   2. the fuzzer from the depth-1 seeds alone (one per event kind and
#      window, nothing nested): the same;
#   3. the exhaustive depth-3 sweep of every event kind: time to its first
#      finding, and how far it got in its budget, from which the whole
#      sweep's time is extrapolated (first injections done / all, a linear
#      estimate: later subtrees are not all as deep);
#   4. the fuzzer on CONTROL (default atomic-ist, the design that closes
#      the hole) for FUZZ_SECONDS: it should find nothing.
#
# usage: bench/fuzz_vs_sweep.sh [STUB [FUZZ_SECONDS [SWEEP_SECONDS [ROUNDS [CONTROL]]]]]
# Builds what it needs (scripts/setup.sh). Prints a table; docs/fuzzing.md
# keeps the last figures and the machine they came from.
set -euo pipefail
stub=${1:-linux} fuzz_time=${2:-600} sweep_time=${3:-900} rounds=${4:-3}
control=${5:-atomic-ist}
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/scripts/setup.sh" >/dev/null
bin=$build/ist-torture fuzz=$build/fuzz/schedule_fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

now() { date +%s.%N; }
since() { awk "BEGIN { printf \"%.1f\", $(now) - $1 }"; }

# Fuzz runs until their first finding (or the time limit), with libFuzzer
# seeds 1..rounds: each one's seconds and finding, then min/median/max.
fuzz_until_found() {
	local name=$1 seeds=$2 r start took found times=()
	for r in $(seq 1 "$rounds"); do
		rm -rf "$name"
		mkdir -p "$name/corpus" "$name/crashes"
		start=$(now)
		IST_FUZZ_STUB=$stub IST_FUZZ_CRASH_DIR=$name/crashes "$fuzz" -seed="$r" \
			-max_total_time="$fuzz_time" -artifact_prefix="$name/crashes/" \
			"$name/corpus" "$seeds" >"$name.log" 2>&1 || true
		took=$(since "$start")
		found=$(grep -a 'schedule_fuzz: [a-z]*@' "$name.log" | head -n 1 | sed 's/^schedule_fuzz: //' || true)
		printf '%-34s %8s s  %s\n' "fuzz, $name, seed $r" "$took" "${found:-nothing found in ${fuzz_time} s}"
		times+=("$took")
	done
	printf '%s\n' "${times[@]}" | sort -n | awk -v n="$name" '{ t[NR] = $1 } END {
		printf "%-34s %8s s  (min %s s, max %s s, %d runs)\n", "fuzz, " n ", median", t[int((NR + 1) / 2)], t[1], t[NR], NR }'
}

echo "ist-torture: fuzzer against exhaustive sweep, stub $stub, back end: $("$bin" sweep --stub "$stub" --depth 1 --events nmi --at entry_SYSCALL_64+0x0 --crash-dir none 2>/dev/null | sed -n 's/^  back end: //p')"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(date -u +%Y-%m-%d)"
echo
fuzz_until_found seed-corpus "$top/corpus/$stub"
mkdir -p d1-seeds
cp "$top/corpus/$stub"/d1-* d1-seeds/
fuzz_until_found depth-1-seeds "$work/d1-seeds"

start=$(now)
"$bin" sweep --stub "$stub" --depth 3 --time-budget "$sweep_time" --resume sweep.state \
	--crash-dir none >sweep.out 2>sweep.err || true
took=$(since "$start")
first=$(sed -n 's/^  first finding (.*) after \(.*\)$/\1/p' sweep.out | head -n 1 || true)
read -r done_first total_first < <(sed -n 's/^  stopped before the end: after first injection \([0-9]*\) of \([0-9]*\).*/\1 \2/p' sweep.out) || true
schedules=$(awk '/^  depth [0-9]: / { n += $3 } END { print n + 0 }' sweep.out)
printf '%-34s %8s s  %s\n' "exhaustive depth-3 sweep" "$took" \
	"${first:+first finding after $first; }$schedules schedules"
if [ -n "${done_first:-}" ]; then
	awk -v t="$took" -v d="$done_first" -v n="$total_first" 'BEGIN {
		printf "%-34s %8.0f s  (%d of %d first injections in %.0f s, extrapolated: %.1f h)\n",
			"  whole sweep, estimated", t * n / d, d, n, t, t * n / d / 3600 }'
else
	echo "  the whole depth-3 sweep finished within its budget"
fi

# 4. The control: the same fuzzer, as long, on the design without the hole.
mkdir -p control/corpus control/crashes
start=$(now)
IST_FUZZ_STUB=$control IST_FUZZ_CRASH_DIR=control/crashes "$fuzz" -seed=1 \
	-max_total_time="$fuzz_time" -artifact_prefix=control/crashes/ -print_final_stats=1 \
	control/corpus "$top/corpus/$control" >control.log 2>&1 || true
found=$(grep -a 'schedule_fuzz: [a-z]*@' control.log | head -n 1 | sed 's/^schedule_fuzz: //' || true)
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' control.log || true)
printf '%-34s %8s s  %s\n' "fuzz, $control (control)" "$(since "$start")" \
	"${found:-nothing found: ${runs:-?} schedules}"
