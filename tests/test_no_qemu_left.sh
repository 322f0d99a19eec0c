#!/usr/bin/env bash
# Run after every other test (a ctest fixture's cleanup): no QEMU that an
# ist-torture started (it names them "ist-torture") is still running. One
# is a leak: a harness exit path that did not stop its QEMU.
left=$(pgrep -af "qemu-system-x86_64 .*-name ist-torture" || true)
if [ -n "$left" ]; then
	echo "FAIL QEMU processes outlived the suite:"
	echo "$left"
	exit 1
fi
echo "test_no_qemu_left: none"
