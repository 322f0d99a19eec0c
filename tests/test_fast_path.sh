#!/usr/bin/env bash
# The fast paths change no verdict. The same schedules are swept and the
# kept crash files replayed three ways, and every verdict, count and
# coverage cell must be equal:
#   fast       restores by the dirty log (KVM) or by comparing pages, and
#              registers through kvm_run's sync area (KVM)
#   reference  --reference-restore: every writable page and each register
#              set through its own ioctl, every restore
#   workers    -j 2: two workers, one VM each, merged
# Runs on KVM when /dev/kvm works, else on QEMU (the restore of memory is
# then the part compared). Usage: test_fast_path.sh IST_TORTURE GUEST_DIR
# CRASH_DIR
set -u
bin=$1 guests=$2 crashes=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0

check() { # name, command...
	local name=$1
	shift
	if "$@"; then
		echo "ok   $name"
	else
		echo "FAIL $name"
		fail=1
	fi
}

# Everything but the time it took, the shard it was, and each failure's
# details in words (a hang's says where the loop was caught, which depends
# on timing); a list's last element has no comma.
verdicts() {
	grep -v -e '"seconds"' -e '"shard"' "$1" |
		sed -e 's/, "details": ".*"}/}/' -e 's/,$//'
}

sweep() { # tag, extra options...
	local tag=$1
	shift
	"$bin" sweep --guest-dir "$guests" --crash-dir none \
		--json "$work/$tag.json" --coverage "$work/$tag.map" "$@" \
		>"$work/$tag.out" 2>"$work/$tag.err"
	echo $? >"$work/$tag.rc"
	if grep -q "no usable back end" "$work/$tag.err"; then
		echo "skip: $(head -n 1 "$work/$tag.err")"
		exit 77
	fi
}

same_run() { # tag a, tag b
	cmp -s "$work/$1.rc" "$work/$2.rc" &&
		diff <(verdicts "$work/$1.json") <(verdicts "$work/$2.json") &&
		cmp "$work/$1.map" "$work/$2.map"
}

# Workers report failures in another order: the same set, the same map.
same_set() {
	cmp -s "$work/$1.rc" "$work/$2.rc" &&
		diff <(verdicts "$work/$1.json" | sort) \
			<(verdicts "$work/$2.json" | sort) &&
		cmp "$work/$1.map" "$work/$2.map"
}

# The whole catalogue at depth 1; two stubs at depth 2 under the SYSCALL
# entry (nested traces, held and coalesced NMIs, #MC shutdowns).
d1=(--stub all --depth 1 --events nmi,mc)
d2=(--stub naive-ist,linux --depth 2 --events nmi,mc:nmi
	--at entry_SYSCALL_64)
sweep d1-fast "${d1[@]}"
sweep d1-ref "${d1[@]}" --reference-restore
sweep d1-jobs "${d1[@]}" -j 2
sweep d2-fast "${d2[@]}"
sweep d2-ref "${d2[@]}" --reference-restore
sweep d2-jobs "${d2[@]}" -j 2
echo "back end: $(sed -n 's/^  back end: //p' "$work/d1-fast.out")"
echo "depth 1: $(grep -c '^stub ' "$work/d1-fast.out") stubs;" \
	"depth 2: $(sed -n 's/^      "schedules": \([0-9]*\),$/\1/p' \
		"$work/d2-fast.json" | awk '{ n += $1 } END { print n }') schedules"
check "depth 1, whole catalogue: fast = reference" same_run d1-fast d1-ref
check "depth 2: fast = reference" same_run d2-fast d2-ref
check "depth 1: -j 2 = one process" same_set d1-fast d1-jobs
check "depth 2: -j 2 = one process" same_set d2-fast d2-jobs
check "-j 2 ran two workers" grep -q "^2 workers" "$work/d2-jobs.out"

# The kept crash files, replayed both ways.
files=("$crashes"/*.crash)
"$bin" replay --guest-dir "$guests" "${files[@]}" >"$work/kept-fast" 2>&1
"$bin" replay --guest-dir "$guests" --reference-restore "${files[@]}" \
	>"$work/kept-ref" 2>&1
check "${#files[@]} kept crash files: fast = reference" \
	diff "$work/kept-fast" "$work/kept-ref"
check "the kept crash files reproduce" \
	grep -q "reproduced" "$work/kept-fast"
exit $fail
