#!/usr/bin/env bash
# The command line as a user meets it: every bad input gets one line on
# stderr that says what is wrong, and the documented exit code.
#   usage: test_cli.sh IST_TORTURE GUEST_DIR TEST_GUEST_DIR
set -u
bin=$(realpath "$1") guests=$(realpath "$2") test_guests=$(realpath "$3")
# Sweeps write crash files into the working directory's crashes/: not here.
cd "$(mktemp -d)" || exit 1
work=$PWD
export IST_GUEST_DIR=$guests
passed=0 failed=0
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# check NAME WANT_CODE WANT_PATTERN ONE_LINE(1|0) -- ARGS...
check() {
	local name=$1 code=$2 pattern=$3 one_line=$4
	shift 5
	"$@" >"$out" 2>"$err"
	local got=$? lines
	lines=$(wc -l <"$err")
	if [ "$got" != "$code" ]; then
		echo "FAIL $name: exit $got, want $code"; cat "$err"
		grep -E "^stub |NOT as|FAIL!|PASS!|ERROR" "$out" | head -40
		failed=$((failed + 1)); return
	fi
	if ! grep -qE -- "$pattern" "$out" "$err"; then
		echo "FAIL $name: output lacks /$pattern/"; cat "$out" "$err"; failed=$((failed + 1)); return
	fi
	if [ "$one_line" = 1 ] && [ "$lines" != 1 ]; then
		echo "FAIL $name: want exactly one line on stderr, got $lines"; cat "$err"; failed=$((failed + 1)); return
	fi
	echo "ok   $name"
	passed=$((passed + 1))
}

check "no command" 2 "usage: ist-torture" 0 -- "$bin"
check "--help" 0 "exit codes" 0 -- "$bin" --help
check "unknown command" 2 "unknown command 'frobnicate'" 1 -- "$bin" frobnicate
check "unknown option" 2 "see ist-torture --help" 0 -- "$bin" sweep --frobnicate
check "stray argument" 2 "unexpected argument 'extra'" 1 -- "$bin" sweep extra
check "unknown stub" 2 "unknown stub 'nosuch'; known stubs: .*cs-swapgs, .*linux, .*naive-ist" 1 -- "$bin" sweep --stub nosuch
check "unknown event" 2 "unknown event kind 'bogus'; known: nmi" 1 -- "$bin" sweep --events bogus
check "bad seed" 2 "--seed wants a number" 1 -- "$bin" sweep --seed abc
check "zero timeout" 2 "--timeout-ms must be at least 1" 1 -- "$bin" sweep --timeout-ms 0
check "no stub dir" 2 "cannot read the stub directory /nonexistent" 1 -- "$bin" list --guest-dir /nonexistent
mkdir -p "${TMPDIR:-/tmp}/ist-empty-$$" && check "empty stub dir" 2 "no stubs \(\*\.elf\) in " 1 -- "$bin" list --guest-dir "${TMPDIR:-/tmp}/ist-empty-$$"; rmdir "${TMPDIR:-/tmp}/ist-empty-$$"
check "list" 0 "cs-swapgs .*SWAPGS by interrupted CS" 0 -- "$bin" list
check "missing device" 2 "/nonexistent/kvm does not exist: load the kvm_intel or kvm_amd module" 1 -- "$bin" sweep --kvm /nonexistent/kvm
check "not a KVM device" 2 "/dev/null is not a usable KVM device" 1 -- "$bin" sweep --kvm /dev/null
if [ ! -e /dev/kvm ] && command -v qemu-system-x86_64 >/dev/null; then
	check "qemu-kvm without /dev/kvm" 2 "failed to initialize kvm" 1 -- \
		"$bin" sweep --backend qemu-kvm --stub naive-ist --depth 1
fi
check "crosscheck without --stub" 2 "crosscheck wants one stub of the catalogue" 1 -- "$bin" crosscheck
check "crosscheck, unknown back end" 2 "--backends is two of kvm, qemu, qemu-kvm" 1 -- \
	"$bin" crosscheck --stub linux --backends qemu,xen
check "--backends to sweep" 2 "--backends means nothing to sweep" 1 -- "$bin" sweep --backends qemu,qemu
if [ ! -e /dev/kvm ]; then
	check "crosscheck without KVM" 2 "crosscheck needs kvm: /dev/kvm does not exist.*--backends qemu,qemu" 1 -- \
		"$bin" crosscheck --stub linux
fi
if command -v qemu-system-x86_64 >/dev/null; then
	check "crosscheck qemu,qemu: the harness agrees with itself" 0 \
		"[1-9][0-9]* schedules on A, [1-9][0-9]* on B: 0 differ, 0 run on one only" 0 -- \
		"$bin" crosscheck --stub cs-swapgs --backends qemu,qemu
fi
check "unknown back end" 2 "--backend is kvm, qemu, qemu-kvm or auto, not 'xen'" 1 -- "$bin" sweep --backend xen
check "KVM asked for, missing" 2 "/nonexistent/kvm does not exist" 1 -- \
	env IST_KVM_DEVICE=/nonexistent/kvm "$bin" sweep --backend kvm
check "no back end at all" 2 "no usable back end: .*does not exist.*; and .*not found: install QEMU" 1 -- \
	env IST_KVM_DEVICE=/nonexistent/kvm IST_QEMU=/nonexistent/qemu "$bin" sweep

# Bring your own stub: what does not build says why, in the assembler's
# words where it has them, and leaves nothing behind.
own=$(mktemp -d)
cat >"$own/plain-nmi.S" <<'STUB'
/* plain-nmi (written by test_cli.sh): Linux's SYSCALL path and an NMI entry
 * that calls the body without SWAPGS: fails where GS is the user's. */
#include "syscall_linux.inc"

	STUB_INFO "test: plain NMI entry, no SWAPGS"
	EXPECT .Lsyscall_gap_start, .Lsyscall_gap_end, IST_EXPECT_FAIL
	EXPECT .Lexit_window_start, .Lexit_window_end, IST_EXPECT_FAIL

	.section .entry.text, "ax"
	.globl asm_exc_nmi
asm_exc_nmi:
	CALL_BODY exc_nmi
	iretq
STUB
sed 's/CALL_BODY exc_nmi/movq %rax, %rbx, %rcx/' "$own/plain-nmi.S" >"$own/broken.S"
check "stub file missing" 2 "cannot read the stub file $own/nosuch.S: No such file" 1 -- \
	"$bin" sweep --stub-file "$own/nosuch.S"
check "stub file with an assembler error" 2 "broken.S:12: Error: .*movq" 0 -- \
	"$bin" sweep --stub-file "$own/broken.S"
if ! tail -n 1 "$err" | grep -q "cannot build $own/broken.S against the guest runtime: gcc reported the errors above"; then
	echo "FAIL stub file with an assembler error: last line"; cat "$err"; failed=$((failed + 1))
fi
check "stub file, no gcc" 2 "gcc not found: install it" 1 -- \
	env PATH=/nonexistent "$bin" sweep --stub-file "$own/plain-nmi.S"
sed 's/IST_EXPECT_FAIL$/42/' "$own/plain-nmi.S" >"$own/bad-expect.S"
check "stub file declaring an unknown verdict" 0 "EXPECT #1 asks for verdict 42, which is not an IST_EXPECT_\\* of ist_abi.h" 0 -- \
	"$bin" list --stub-file "$own/bad-expect.S"
check "stub file and --stub" 2 "--stub-file sweeps that file alone" 1 -- \
	"$bin" sweep --stub-file "$own/plain-nmi.S" --stub linux

if [ -e /dev/kvm ] && [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
	! setpriv --reuid=65534 --regid=65534 --clear-groups test -r /dev/kvm 2>/dev/null &&
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$bin" 2>/dev/null; then
	check "no permission" 2 "no permission to open /dev/kvm: add your user to the 'kvm' group" 1 -- \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" sweep
else
	echo "skip no permission: needs root, setpriv, a /dev/kvm others cannot open, and a binary they can run"
fi

# Sweeps run on KVM where it works, and on QEMU where it does not.
"$bin" sweep --depth 1 --stub linux >"$out" 2>"$err"
if ! grep -q "no usable back end" "$err"; then
	check "default sweep, depth 1" 0 "result: every stub got the verdicts it declares" 0 -- "$bin" sweep --depth 1
	check "report header names the back end" 0 "back end: (kvm|qemu)" 0 -- "$bin" sweep --depth 1 --stub linux
	check "a stub file of one's own is built and swept" 0 "stub plain-nmi: test: plain NMI entry.*" 0 -- \
		env TMPDIR="$own" "$bin" sweep --depth 1 --events nmi --stub-file "$own/plain-nmi.S"
	if [ "$(ls "$own")" != "$(printf 'bad-expect.S\nbroken.S\nplain-nmi.S')" ]; then
		echo "FAIL the stub file's build directory was left: $(ls "$own")"; failed=$((failed + 1))
	fi
	check "a declared failure that passes exits 4" 4 "pass \\(the stub declares fail\\)" 0 -- \
		"$bin" sweep --depth 1 --guest-dir "$test_guests" --stub misdeclared
else
	echo "skip sweeps: no usable back end: $(head -n 1 "$err")"
fi

# What the QEMU back end cannot do is refused when asked for, and left out
# of the defaults with a note.
"$bin" sweep --backend qemu --stub cs-swapgs --at entry_SYSCALL_64 >"$out" 2>"$err"
if ! grep -q "not found: install QEMU" "$err"; then
	check "qemu: nested schedules" 0 "depth 2: [1-9][0-9]* schedules: [1-9][0-9]* passed, 0 failed" 0 -- \
		"$bin" sweep --backend qemu --stub linux --depth 2 --events nmi:nmi --at entry_SYSCALL_64+0x0 --exec 1
	check "qemu: #DB by payload refused" 2 "#DB by payload needs a back end that can inject it \\(KVM\\); qemu .* \\(use --db-method dr\\)" 1 -- \
		"$bin" sweep --backend qemu --events nmi,db --db-method payload
	check "qemu: #DB by the guest's DR0 by default" 0 "depth: 1   events: nmi,db,mc,irq   #DB by: guest DR0   first" 0 -- \
		"$bin" sweep --backend qemu --stub linux --depth 1 --at entry_SYSCALL_64
	check "qemu: cs-swapgs fails in the SYSCALL gap" 0 "FAIL  nmi@entry_SYSCALL_64\\+0x0: invariant" 0 -- \
		"$bin" sweep --backend qemu --stub cs-swapgs --at entry_SYSCALL_64

	# Crash files: one per signature, written atomically, replayed.
	crashes="$own/crashes"
	"$bin" sweep --backend qemu --stub cs-swapgs --depth 1 --at entry_SYSCALL_64 --crash-dir "$crashes" >"$out" 2>"$err"
	"$bin" sweep --backend qemu --stub cs-swapgs --depth 1 --at entry_SYSCALL_64 --crash-dir "$crashes" >>"$out" 2>>"$err"
	crash=$(ls "$crashes"/cs-swapgs-invariant-*.crash 2>/dev/null)
	if [ "$(ls -A "$crashes" | wc -l)" = 1 ] && [ -n "$crash" ] && [ "$(grep -c 'new crash file' "$out")" = 1 ]; then
		echo "ok   sweep: one crash file for three findings of one bug, none again"; passed=$((passed + 1))
	else
		echo "FAIL sweep: crash files '$(ls -A "$crashes")'"; failed=$((failed + 1))
	fi
	check "replay reproduces" 0 "reproduced: invariant" 0 -- "$bin" replay --backend qemu "$crash"
	"$bin" replay --backend qemu --trace "$crash" >"$out" 2>"$err"
	if grep -q ">> NMI delivered: frame RIP entry_SYSCALL_64+0x0 CS 0x8 .* on IST stack 2" "$out" &&
		grep -q "<< IRETQ to entry_SYSCALL_64+0x0" "$out" && grep -q "NMI blocking 1 -> 0" "$out" &&
		grep -qE "^  nmi.gs_base +0x" "$out" && grep -q "reproduced: invariant" "$out"; then
		echo "ok   replay --trace: delivery, frame, IRET, NMI blocking, divergence"; passed=$((passed + 1))
	else
		echo "FAIL replay --trace"; head -20 "$out"; failed=$((failed + 1))
	fi
	check "replay --json: one object, the trace inside" 0 '^\{"file":.*"result":"reproduced".*"diffs":\[\{"field":"nmi.gs_base".*"delivery":\{"event":"NMI","frame":\{"rip":"entry_SYSCALL_64\+0x0"' 0 -- \
		"$bin" replay --backend qemu --json "$crash"
	sed 's/^image fnv1a64:.*/image fnv1a64:0123456789abcdef/' "$crash" >"$own/changed.crash"
	check "replay: a changed stub is named, the replay still runs" 0 "warning: .*changed.crash: stub cs-swapgs changed since the file was written \\(image fnv1a64:0123456789abcdef, now [0-9a-f]{16}\\)" 1 -- \
		"$bin" replay --backend qemu "$own/changed.crash"
	sed 's/^step nmi entry_SYSCALL_64+0x0 1$/step nmi entry_SYSCALL_64+0x0 3/' "$crash" >"$own/late.crash"
	check "minimize: the earliest execution, same signature" 0 "now: nmi@entry_SYSCALL_64\\+0x0  \\(invariant, signature" 0 -- \
		"$bin" minimize --backend qemu "$own/late.crash"
	check "minimize: the result replays" 0 "reproduced: invariant" 0 -- "$bin" replay --backend qemu "$own/late.min.crash"
	sed 's/^step nmi entry_SYSCALL_64+0x0 1$/step nmi entry_SYSCALL_64_after_hwframe+0x0 1/' "$crash" >"$own/fixed.crash"
	check "replay of a bug gone" 1 "no longer reproduces: it passes now .*the bug looks fixed" 0 -- "$bin" replay --backend qemu "$own/fixed.crash"
	head -c 150 "$crash" >"$own/truncated.crash"
	check "replay: truncated file" 2 "truncated.crash:[0-9]+: the line is cut off: the file is truncated" 1 -- "$bin" replay --backend qemu "$own/truncated.crash"
	grep -v '^step' "$crash" >"$own/nostep.crash"
	check "replay: no schedule" 2 "nostep.crash: no 'step' line \\(truncated\\?\\)" 1 -- "$bin" replay --backend qemu "$own/nostep.crash"
	sed 's/^step nmi/step nmx/' "$crash" >"$own/event.crash"
	check "replay: unknown event" 2 "event.crash:[0-9]+: unknown event 'nmx'" 1 -- "$bin" replay --backend qemu "$own/event.crash"
	sed 's/entry_SYSCALL_64+0x0 1$/nosuch+0x0 1/' "$crash" >"$own/symbol.crash"
	check "replay: unknown boundary" 2 "symbol.crash:[0-9]+: stub cs-swapgs has no 'nosuch\\+0x0'" 1 -- "$bin" replay --backend qemu "$own/symbol.crash"
	sed 's/^ist-torture-crash 1$/ist-torture-crash 9/' "$crash" >"$own/version.crash"
	check "replay: wrong version" 2 "version.crash:[0-9]+: crash file version 9; this ist-torture reads version 1" 1 -- "$bin" replay --backend qemu "$own/version.crash"
	printf 'ist-torture-crash 1\nstub \001\002\n' >"$own/garbage.crash"
	check "replay: garbage bytes" 2 "garbage.crash:2: not text" 1 -- "$bin" replay --backend qemu "$own/garbage.crash"
	rm -rf "$crashes" "$own"/*.crash

	# Nothing of QEMU outlives the harness: not on SIGINT, and not when
	# it is killed outright (then the next run removes what was left).
	# The sweeps are long (depth 2) so that the signal meets them running;
	# env resets SIGINT, which a script's background jobs inherit ignored.
	tmp=$(mktemp -d)
	no_qemu_left() { ! pgrep -f "qemu-system.*$tmp" >/dev/null; }
	long_sweep() { TMPDIR=$tmp exec env --default-signal=INT "$bin" sweep --backend qemu --stub linux --depth 2 >/dev/null 2>&1; }
	# gone PID: 0 once PID has exited (within 10 s), else 1
	gone() { for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
	long_sweep &
	pid=$!
	sleep 3
	if kill -0 $pid 2>/dev/null && [ -n "$(ls "$tmp")" ] && kill -INT $pid && gone $pid &&
		sleep 0.5 && [ -z "$(ls "$tmp")" ] && no_qemu_left; then
		echo "ok   qemu: SIGINT leaves no QEMU and no files"; passed=$((passed + 1))
	else
		echo "FAIL qemu: SIGINT left '$(ls "$tmp")' $(pgrep -fa "qemu-system.*$tmp")"; failed=$((failed + 1))
		kill -KILL $pid 2>/dev/null
	fi
	# The same for a --stub-file's build directory, in the same TMPDIR.
	TMPDIR=$tmp env --default-signal=INT "$bin" sweep --backend qemu --depth 2 --stub-file "$own/plain-nmi.S" >/dev/null 2>&1 &
	pid=$!
	sleep 3
	if kill -0 $pid 2>/dev/null && ls "$tmp" | grep -q '^ist-torture-stub-' && kill -INT $pid && gone $pid &&
		sleep 0.5 && [ -z "$(ls "$tmp")" ] && no_qemu_left; then
		echo "ok   --stub-file: SIGINT leaves no build directory"; passed=$((passed + 1))
	else
		echo "FAIL --stub-file: SIGINT left '$(ls "$tmp")'"; failed=$((failed + 1))
		kill -KILL $pid 2>/dev/null
	fi
	long_sweep &
	pid=$!
	sleep 3
	kill -KILL $pid; wait $pid 2>/dev/null; sleep 0.5
	left=$(ls "$tmp")
	TMPDIR=$tmp "$bin" sweep --backend qemu --stub linux --depth 1 --at entry_SYSCALL_64 >/dev/null 2>&1
	if [ -n "$left" ] && [ -z "$(ls "$tmp")" ] && no_qemu_left; then
		echo "ok   qemu: killed outright, QEMU dies and the next run cleans up"; passed=$((passed + 1))
	else
		echo "FAIL qemu: after SIGKILL: left '$left', now '$(ls "$tmp")'"; failed=$((failed + 1))
	fi
	rmdir "$tmp"
else
	echo "skip qemu: $(head -n 1 "$err")"
fi

rm -rf "$own" "$work"
echo "test_cli: $passed passed, $failed failed"
[ "$failed" = 0 ]
