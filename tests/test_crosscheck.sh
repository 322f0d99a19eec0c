#!/usr/bin/env bash
# The catalogue's depth-1 verdicts are the same on KVM and on QEMU: every
# stub crosschecked (same schedules on both back ends, each schedule's
# verdict and logged deliveries compared). Needs a usable /dev/kvm, and is
# skipped without one (exit 77). usage: test_crosscheck.sh IST_TORTURE
set -u
bin=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! "$bin" crosscheck --stub cs-swapgs --at entry_SYSCALL_64+0x0 >"$out" 2>&1; then
	if grep -q "crosscheck needs kvm" "$out"; then
		echo "skip: $(grep -m1 'crosscheck needs kvm' "$out")"
		exit 77
	fi
fi
failed=0
for stub in $("$bin" list | awk '{ print $1 }'); do
	"$bin" crosscheck --stub "$stub" --depth 1 >"$out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "ok   $stub: $(grep 'schedules on A' "$out")"
	else
		echo "FAIL $stub (exit $rc):"
		grep -v "^ist-torture crosscheck" "$out" | head -n 30
		failed=$((failed + 1))
	fi
done
echo "test_crosscheck: $failed stubs disagree"
[ $failed -eq 0 ]
