#!/usr/bin/env bash
# replay --gdb: a kept crash file replayed on QEMU up to its last event,
# which is raised, run to its handler's first instruction and handed to
# gdb there. gdb (batch mode) attaches with the command line printed, and
# must find the CPU on the handler's first instruction with the frame the
# CPU pushed naming the boundary the report names; end of input then ends
# the replay, with QEMU. And what --gdb refuses.
# usage: test_gdb.sh IST_TORTURE CRASH_FILE
set -u
bin=$1 crash=$2
work=$(mktemp -d)
port=$((20000 + $$ % 20000))
passed=0 failed=0
pass() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
cleanup() {
	exec 3>&- 2>/dev/null
	[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
if ! command -v gdb >/dev/null; then
	echo "skip: gdb is not installed (apt-get install gdb)"
	exit 77
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "skip: qemu-system-x86_64 is not installed"
	exit 77
fi

mkfifo "$work/in"
"$bin" replay "$crash" --gdb "$port" <"$work/in" >"$work/out" 2>"$work/err" &
pid=$!
exec 3>"$work/in" # standard input stays open: the replay waits
for _ in $(seq 1 300); do
	grep -q "target remote" "$work/out" 2>/dev/null && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
cmdline=$(sed -n "s/^  \(gdb -ex 'target remote .*\)$/\1/p" "$work/out")
if [ -z "$cmdline" ]; then
	fail "no gdb command line printed: $(cat "$work/out" "$work/err")"
	exit 1
fi
pass "prints the gdb command line: $cmdline"
qemu=$(pgrep -P $pid -f qemu-system-x86_64) # this replay's QEMU
handler=$(sed -n "s/.*handler's first instruction, \([^ ,]*\).*/\1/p" "$work/out")
raised=$(sed -n "s/.* delivered at \([^ ]*\) (the schedule's last event.*/\1/p" "$work/out")
eval "$cmdline -batch -nx -ex 'info symbol \$pc' -ex 'info symbol *(long *)\$rsp' \
	-ex 'p/x *(long *)(\$rsp + 8)'" >"$work/gdb" 2>&1
sym() { # "asm_exc_nmi + 16 in section" -> asm_exc_nmi+0x10
	awk '/in section/ { off = ($2 == "+") ? $3 : 0;
		printf "%s+0x%x\n", $1, off }' | sed -n "${1}p"
}
at_pc=$(sym 1 <"$work/gdb")
frame_rip=$(sym 2 <"$work/gdb")
if [ "$at_pc" = "$handler" ]; then
	pass "gdb finds the CPU on the handler's first instruction ($at_pc)"
else
	fail "gdb finds the CPU at '$at_pc', not at $handler: $(cat "$work/gdb")"
fi
if [ "$frame_rip" = "$raised" ]; then
	pass "the frame the CPU pushed names the boundary it was delivered at ($raised)"
else
	fail "the frame's RIP is '$frame_rip', the report says $raised"
fi
if grep -q "^\$1 = 0x8$" "$work/gdb"; then
	pass "the frame's CS is the kernel's (0x8)"
else
	fail "the frame's CS: $(grep '^\$1' "$work/gdb")"
fi
exec 3>&- # end of input: the replay ends
for _ in $(seq 1 100); do
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
wait $pid
rc=$?
pid=
if [ $rc -eq 0 ] && grep -q "reproduced" "$work/out"; then
	pass "ends at the end of input, the crash reproduced (exit 0)"
else
	fail "exit $rc at the end of input: $(tail -n 2 "$work/out") $(cat "$work/err")"
fi
sleep 0.2
if [ -z "$qemu" ]; then
	fail "no QEMU found under the replay while it waited"
elif kill -0 $qemu 2>/dev/null; then
	fail "its QEMU (pid $qemu) outlived the replay"
else
	pass "its QEMU (pid $qemu) ended with it"
fi

expect_usage() { # what, pattern, command...
	local what=$1 pattern=$2
	shift 2
	"$@" </dev/null >"$work/bad.out" 2>"$work/bad.err"
	local rc=$?
	if [ $rc -eq 2 ] && grep -Eq -- "$pattern" "$work/bad.err"; then
		pass "$what: exit 2, '$(head -n 1 "$work/bad.err")'"
	else
		fail "$what: exit $rc, stderr: $(head -n 2 "$work/bad.err")"
	fi
}
expect_usage "--gdb with two crash files" "replays one crash file on QEMU" \
	"$bin" replay "$crash" "$crash" --gdb
expect_usage "--gdb on KVM" "replays one crash file on QEMU" \
	"$bin" replay "$crash" --gdb --backend kvm
expect_usage "--gdb to sweep" "--gdb means nothing to sweep" "$bin" sweep --gdb
expect_usage "--gdb port 0" "--gdb takes a port from 1 to 65535" \
	"$bin" replay "$crash" --gdb=0

# A port another process holds: a harness error naming it, exit 3.
taken=$((port + 1))
python3 - "$taken" "$bin" "$crash" >"$work/taken" 2>&1 <<'PY'
import socket, subprocess, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
r = subprocess.run([sys.argv[2], "replay", sys.argv[3], "--gdb", sys.argv[1]],
                   stdin=subprocess.DEVNULL, capture_output=True, text=True)
print(r.returncode)
print(r.stderr, end="")
PY
if [ "$(head -n 1 "$work/taken")" = 3 ] && [ "$(wc -l <"$work/taken")" -eq 2 ] &&
	grep -q "could not listen for gdb on 127.0.0.1:$taken (.*): give another port" "$work/taken"; then
	pass "a port in use: exit 3, '$(tail -n 1 "$work/taken")'"
else
	fail "a port in use: $(cat "$work/taken")"
fi

echo "test_gdb: $passed passed, $failed failed"
[ $failed -eq 0 ]
