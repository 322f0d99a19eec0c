#!/usr/bin/env bash
# The whole test suite: build everything (installing what is missing), then
# run ctest. Tests that need /dev/kvm say why and are skipped without it.
source "$(dirname "$0")/setup.sh"
cd "$build"
exec ctest --output-on-failure -j"$(nproc)" "$@"
