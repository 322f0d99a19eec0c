#!/usr/bin/env bash
# The crash-file parser under libFuzzer (ASan, UBSan), for a bounded number
# of inputs, seeded with the kept crash files: any crash, leak or undefined
# behaviour fails. Artifacts go to the build tree, never the repository.
# Usage: test_fuzz_crash_parse.sh FUZZ_BINARY CRASH_DIR ARTIFACT_DIR
set -eu
fuzz=$1 crashes=$2 artifacts=$3
mkdir -p "$artifacts"
seeds=$(ls "$crashes"/*.crash | paste -sd, -)
exec "$fuzz" -runs=30000 -max_len=4096 -seed=1 -seed_inputs="$seeds" \
	-artifact_prefix="$artifacts/" -print_final_stats=1
