#!/usr/bin/env bash
# The speed figures, measured in one run on this machine (building what is
# needed first): what a trial costs against its floor, what a user waits
# for, and what workers buy.
#
#   1. bench/trial_rate.c: round trip, CPL0 instruction, single step,
#      restore; trial cost at depth 1, 2, 3 with its CPL0 instructions, its
#      floor and the ratio; its peak memory.
#   2. The whole process from outside: a depth-1 sweep of the whole
#      catalogue, its time against the sum of its trials' floors (schedules
#      x the depth-1 floor).
#   3. Workers: one depth-2 sweep (naive-ist and linux, first injections in
#      entry_SYSCALL_64) with -j 1 and with -j N (N = cores), schedules per
#      second of each and the ratio; the workers' peak memory.
#   4. The default sweep (what scripts/run.sh runs), with -j N: its time,
#      schedules and rate (skipped with --quick).
#
# usage: bench/run.sh [--json] [--quick] [--backend kvm|qemu]
# Back end: KVM when /dev/kvm works, else QEMU. Ratios only; nothing here
# asserts on time (these machines are shared). README's Performance section
# and docs/performance.md keep the last figures and where they came from.
set -euo pipefail
json=0 quick=0 backend=""
while [ $# -gt 0 ]; do
	case $1 in
	--json) json=1 ;;
	--quick) quick=1 ;;
	--backend)
		backend=$2
		shift
		;;
	*)
		echo "usage: bench/run.sh [--json] [--quick] [--backend kvm|qemu]" >&2
		exit 2
		;;
	esac
	shift
done
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/scripts/setup.sh" >&2
bin=$build/ist-torture
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$backend" ]; then
	backend=qemu
	[ -c /dev/kvm ] && backend=kvm
fi
jobs=$(nproc)

# Seconds since boot: monotonic, unlike the wall clock, which can jump.
now() { cut -d' ' -f1 /proc/uptime; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# A number from a JSON file: key (the first match).
num() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -n 1; }
# A sweep that wrote no report, or swept nothing, has no figure: said.
need() { # what, count, output file
	if [ "${2:-0}" -gt 0 ] 2>/dev/null; then return 0; fi
	echo "bench/run.sh: $1 swept nothing; its output ends:" >&2
	tail -n 5 "$3" >&2
	exit 1
}
schedules() { # JSON report: all stubs' schedules
	[ -e "$1" ] || { echo 0; return; }
	sed -n 's/^      "schedules": \([0-9]*\),$/\1/p' "$1" |
		awk '{ n += $1 } END { print n + 0 }'
}

# 1. One trial_rate run, as JSON or as text; KVM that turns out unusable
# falls back to QEMU.
trial_rate() {
	if [ $json = 1 ]; then
		"$build/bench/trial_rate" --backend "$backend" --json linux
	else
		"$build/bench/trial_rate" --backend "$backend" linux
	fi
}
echo "measuring trial cost (bench/trial_rate, $backend)..." >&2
rc=0
trial_rate >"$work/trial" 2>"$work/trial.err" || rc=$?
if [ $rc = 2 ] && [ $backend = kvm ]; then
	echo "KVM unusable ($(head -n 1 "$work/trial.err")): on QEMU" >&2
	backend=qemu rc=0
	trial_rate >"$work/trial" 2>"$work/trial.err" || rc=$?
fi
if [ $rc != 0 ]; then
	cat "$work/trial.err" >&2
	exit $rc
fi
if [ $json = 1 ]; then
	d1_floor=$(sed -n 's/.*"depth1": {.*"floor_us": \([0-9.]*\).*/\1/p' \
		"$work/trial")
else
	d1_floor=$(awk '$1 == "depth" && $2 == "1:" { print $5 }' "$work/trial")
fi

# 2. The whole catalogue at depth 1, timed from outside.
echo "timing a depth-1 sweep of the whole catalogue..." >&2
t0=$(now)
"$bin" sweep --backend "$backend" --depth 1 --crash-dir none \
	--json "$work/d1.json" >"$work/d1.out" 2>&1 || true
d1_s=$(calc %.2f "$(now) - $t0")
d1_n=$(schedules "$work/d1.json")
need "the depth-1 sweep" "$d1_n" "$work/d1.out"
d1_events=$(sed -n 's/.*"events": "\(.*\)",/\1/p' "$work/d1.json")
d1_ratio=$(calc %.2f "$d1_s * 1e6 / ($d1_n * $d1_floor)")

# 3. Workers: the same depth-2 sweep with one and with N.
w_args=(sweep --backend "$backend" --stub naive-ist,linux --depth 2
	--events nmi,mc:nmi --at entry_SYSCALL_64 --crash-dir none)
echo "timing a depth-2 sweep with -j 1 and -j $jobs..." >&2
t0=$(now)
"$bin" "${w_args[@]}" -j 1 --json "$work/j1.json" >"$work/j1.out" 2>&1 || true
j1_s=$(calc %.2f "$(now) - $t0")
t0=$(now)
"$bin" "${w_args[@]}" -j "$jobs" --json "$work/jn.json" >"$work/jn.out" 2>&1 || true
jn_s=$(calc %.2f "$(now) - $t0")
j1_n=$(schedules "$work/j1.json")
jn_n=$(schedules "$work/jn.json")
need "the -j 1 sweep" "$j1_n" "$work/j1.out"
need "the -j $jobs sweep" "$jn_n" "$work/jn.out"
j1_rate=$(calc %.1f "$j1_n / $j1_s")
jn_rate=$(calc %.1f "$jn_n / $jn_s")
j_ratio=$(calc %.2f "$jn_rate / $j1_rate")
peaks=$(sed -n 's/^workers: [0-9]*; peak resident memory of the largest: //p' \
	"$work/jn.out")
w_rss=$(echo "$peaks" | sed -n 's/^\([0-9]*\) MiB.*/\1/p')
w_qemu=$(echo "$peaks" | sed -n 's/.*of its QEMU: \([0-9]*\) MiB.*/\1/p')

# 4. The default sweep.
def_s=0 def_n=0 def_rate=0
if [ $quick = 0 ]; then
	echo "timing the default sweep (scripts/run.sh's) with -j $jobs..." >&2
	t0=$(now)
	"$bin" sweep --backend "$backend" --crash-dir none -j "$jobs" \
		--json "$work/def.json" >"$work/def.out" 2>&1 || true
	def_s=$(calc %.1f "$(now) - $t0")
	def_n=$(schedules "$work/def.json")
	need "the default sweep" "$def_n" "$work/def.out"
	def_rate=$(calc %.1f "$def_n / $def_s")
fi

if [ $json = 1 ]; then
	sed '$d' "$work/trial" | sed '$s/$/,/'
	cat <<EOF
  "cores": $jobs,
  "catalogue_depth1": {"events": "$d1_events", "schedules": $d1_n, "seconds": $d1_s, "floor_sum_s": $(calc %.2f "$d1_n * $d1_floor / 1e6"), "ratio": $d1_ratio},
  "workers": {"jobs": $jobs, "schedules": $j1_n, "rate_1": $j1_rate, "rate_n": $jn_rate, "ratio": $j_ratio, "peak_rss_mib": ${w_rss:-0}, "peak_rss_qemu_mib": ${w_qemu:-0}},
  "default_sweep": {"seconds": $def_s, "schedules": $def_n, "rate": $def_rate}
}
EOF
	exit 0
fi
cat "$work/trial"
cat <<EOF

whole catalogue, depth 1 ($d1_events), timed from outside:
  $d1_n schedules in $d1_s s; sum of their floors $(calc %.2f "$d1_n * $d1_floor / 1e6") s; ratio $d1_ratio
workers (naive-ist + linux, depth 2 under entry_SYSCALL_64, $j1_n schedules):
  -j 1: $j1_rate schedules/s   -j $jobs: $jn_rate schedules/s   ratio $j_ratio
  peak resident memory per worker: ${w_rss:-?} MiB${w_qemu:+ (its QEMU: $w_qemu MiB)}
EOF
if [ $quick = 0 ]; then
	echo "default sweep (scripts/run.sh's: all stubs, default depth), -j $jobs:"
	echo "  $def_n schedules in $def_s s: $def_rate schedules/s"
fi
