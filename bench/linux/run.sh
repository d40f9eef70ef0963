#!/bin/sh
# Startup and file-workload overhead of the Linux backends (in process, no
# plugin hop) against running directly, through proc without a sandbox, and
# bubblewrap (when installed), measured in the same run.
#
#   sh bench/linux/run.sh            # 200 startups per launcher
#   SBX_BENCH_N=500 sh bench/linux/run.sh
#
# The file workload runs on a fresh tmpfs: root only, skipped otherwise. Needs cgo + libseccomp-dev to build.
set -eu
cd "$(dirname "$0")/../.."
SBX_BENCH=1 go test -count=1 -run '^TestReport$' -v ./bench/linux | grep -v '^=== RUN'
