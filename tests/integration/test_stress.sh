#!/bin/bash
# Stress test of the per-target threads: 8 targets x 2 LUNs, 3 verified
# I/O sessions per target, while LUNs, ACLs and whole targets come and go
# and `show` runs in a tight loop. The driver and its options are in
# tests/stress/stress.sh (STRESS_DURATION=N shortens the default 60 s).
exec "$(dirname "$0")/../stress/stress.sh" "$@"
