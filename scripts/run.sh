#!/usr/bin/env bash
# The main job: build everything (installing what is missing), then sweep
# every bundled stub and print the report. Extra arguments go to
# 'ist-torture sweep' (e.g. --stub linux). Exit status is the sweep's.
source "$(dirname "$0")/setup.sh"
exec "$build/ist-torture" sweep "$@"
