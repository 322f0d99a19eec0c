#!/usr/bin/env bash
# The schedule fuzzer end to end, on whichever back end works (KVM, else
# QEMU): a bounded run on naive-ist finds its known bug and leaves a crash
# file that replays, and libFuzzer's raw artifact replays too; a run on
# atomic-ist finds nothing; a schedule run twice in one process (the second
# time from cached traces) is the same schedule with the same verdict; and
# `ist-torture fuzz` says what is wrong in one line.
#
# usage: test_fuzz.sh IST_TORTURE SCHEDULE_FUZZ GUEST_DIR CORPUS_DIR
set -u
bin=$(realpath "$1") fuzz=$(realpath "$2") guests=$(realpath "$3") corpus=$(realpath "$4")
cd "$(mktemp -d)" || exit 1
trap 'rm -rf "$PWD"' EXIT
failed=0 passed=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
pass() { echo "ok   $*"; passed=$((passed + 1)); }
export IST_GUEST_DIR=$guests

if ! "$bin" sweep --stub naive-ist --depth 1 --events nmi --at entry_SYSCALL_64+0x0 \
	--crash-dir none --guest-dir "$guests" >probe.out 2>probe.err; then
	if grep -q "no usable back end" probe.err; then
		echo "skip: $(head -n 1 probe.err)"
		exit 77
	fi
fi

# 1. naive-ist: its known bug (a vector nested on its own IST stack) within
# a few thousand inputs, from its seeds.
mkdir -p work crashes
IST_FUZZ_STUB=naive-ist IST_FUZZ_CRASH_DIR=crashes "$fuzz" -runs=3000 -seed=1 \
	-artifact_prefix=crashes/ work "$corpus/naive-ist" >naive.log 2>&1
rc=$?
crash=$(ls crashes/naive-ist-*.crash 2>/dev/null | head -n 1)
raw=$(ls crashes/crash-* 2>/dev/null | head -n 1)
if [ $rc -ne 0 ] && [ -n "$crash" ] && [ -n "$raw" ]; then
	pass "naive-ist: found $(grep -a 'schedule_fuzz: [a-z]*@' naive.log | head -n 1 | cut -c 16-)"
else
	fail "naive-ist: no finding in 3000 inputs (exit $rc): $(grep -a 'schedule_fuzz\|Done' naive.log | tail -n 3)"
fi
if [ -n "$crash" ]; then
	if "$bin" replay --guest-dir "$guests" "$crash" >replay.out 2>&1; then
		pass "its crash file replays: $(grep -a reproduced replay.out)"
	else
		fail "its crash file does not replay: $(tail -n 2 replay.out)"
	fi
fi
if [ -n "$raw" ]; then
	if "$bin" replay --guest-dir "$guests" --stub naive-ist --crash-dir raw-crashes \
		"$raw" >raw.out 2>raw.err && grep -q "fuzzer input for naive-ist: .*: " raw.out; then
		pass "libFuzzer's raw artifact replays: $(head -n 1 raw.out | sed 's/^[^:]*: //')"
	else
		fail "the raw artifact does not replay: $(tail -n 2 raw.out) $(tail -n 1 raw.err)"
	fi
	"$bin" replay --guest-dir "$guests" "$raw" >noname.out 2>noname.all
	rc=$?
	# The note that QEMU stands in for a missing /dev/kvm is no error.
	grep -v "sweeping on QEMU instead" noname.all >noname.err
	if [ $rc -eq 2 ] && [ "$(wc -l <noname.err)" -eq 1 ] && grep -q "give the one it was fuzzed on (--stub NAME)" noname.err; then
		pass "a raw artifact without --stub: exit 2, '$(cat noname.err)'"
	else
		fail "a raw artifact without --stub: $(cat noname.err)"
	fi
fi

# 2. The same schedule twice in one process: the second from cached traces.
printf '\003\000\013\000\000\002\000\000\000\002\001\000\000' >twice
cp twice again
IST_FUZZ_STUB=linux IST_FUZZ_VERBOSE=1 IST_FUZZ_CRASH_DIR=crashes "$fuzz" twice again \
	>twice.log 2>&1
grep -a "schedule_fuzz: ran" twice.log >ran
half=$(($(wc -l <ran) / 2))
if [ "$half" -gt 0 ] && [ "$(wc -l <ran)" -eq $((2 * half)) ] &&
	cmp -s <(head -n "$half" ran) <(tail -n "$half" ran); then
	pass "a schedule run again from cached traces is the same: $(tail -n 1 ran | cut -c 20-)"
else
	fail "a schedule run twice differs:"
	cat ran
fi

# The raw replay reports what the fuzzer reports: the first finding, even
# when a deeper level of the input passes.
printf '\002\000\000\000\000\000\005\000\000' >prefix-fails
"$bin" replay --guest-dir "$guests" --stub cs-swapgs --crash-dir none prefix-fails \
	>prefix.out 2>/dev/null
if grep -q "fuzzer input for cs-swapgs: nmi@entry_SYSCALL_64+0x0: invariant$" prefix.out; then
	pass "a raw input whose first level fails replays as that failure"
else
	fail "raw replay of a failing prefix: $(cat prefix.out)"
fi

# 3. atomic-ist: nothing to find.
mkdir -p awork acrashes
IST_FUZZ_STUB=atomic-ist IST_FUZZ_CRASH_DIR=acrashes "$fuzz" -runs=400 -seed=1 \
	-artifact_prefix=acrashes/ awork "$corpus/atomic-ist" >atomic.log 2>&1
rc=$?
if [ $rc -eq 0 ] && [ -z "$(ls acrashes)" ]; then
	pass "atomic-ist: 400 inputs, no finding"
else
	fail "atomic-ist: exit $rc, $(ls acrashes): $(grep -a 'schedule_fuzz: [a-z]*@' atomic.log | head -n 2)"
fi

# 4. ist-torture fuzz: one stub, said in one line.
"$bin" fuzz --guest-dir "$guests" >usage.out 2>usage.err
if [ $? -eq 2 ] && [ "$(wc -l <usage.err)" -eq 1 ] && grep -q "fuzz wants one stub" usage.err; then
	pass "fuzz without --stub: exit 2, '$(cat usage.err)'"
else
	fail "fuzz without --stub: $(cat usage.err)"
fi
"$bin" fuzz --stub naive-ist --time 600 --guest-dir "$guests" --crash-dir tool-crashes \
	>tool.out 2>tool.err
rc=$?
if [ $rc -eq 1 ] && grep -q "^fuzz naive-ist: [0-9]* schedules in" tool.out &&
	grep -q "crash file: tool-crashes/naive-ist-" tool.out; then
	pass "ist-torture fuzz: $(head -n 1 tool.out); exit 1 with its crash file"
else
	fail "ist-torture fuzz: exit $rc: $(cat tool.out) $(tail -n 2 tool.err)"
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
