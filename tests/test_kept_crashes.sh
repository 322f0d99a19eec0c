#!/usr/bin/env bash
# The kept crash files (crashes/ in the repository: one per known bug of
# each buggy stub) replayed three times: every one must reproduce, with the
# same verdict line each time. A harness change that stops finding a known
# bug fails here. Usage: test_kept_crashes.sh IST_TORTURE GUEST_DIR CRASH_DIR
# [BACKEND] (kvm, qemu; default: auto)
set -u
bin=$1 guests=$2 dir=$3 backend=${4:-auto}
files=("$dir"/*.crash)
if [ ! -e "${files[0]}" ]; then
	echo "FAIL no kept crash files in $dir"
	exit 1
fi
first=""
for round in 1 2 3; do
	out=$("$bin" replay --backend "$backend" --guest-dir "$guests" "${files[@]}" 2>/tmp/kept-err.$$)
	rc=$?
	if grep -q "no usable back end\|not found: install QEMU" /tmp/kept-err.$$; then
		echo "skip: $(head -n 1 /tmp/kept-err.$$)"
		rm -f /tmp/kept-err.$$
		exit 77
	fi
	if [ $rc != 0 ]; then
		echo "FAIL round $round: replay exit $rc"
		echo "$out"
		cat /tmp/kept-err.$$
		rm -f /tmp/kept-err.$$
		exit 1
	fi
	if [ -n "$first" ] && [ "$out" != "$first" ]; then
		echo "FAIL round $round: the verdicts differ from round 1"
		diff <(echo "$first") <(echo "$out")
		rm -f /tmp/kept-err.$$
		exit 1
	fi
	first=$out
done
rm -f /tmp/kept-err.$$
echo "$first"
echo "test_kept_crashes ($backend): ${#files[@]} files reproduced, 3 rounds alike"
