#!/bin/sh
# Startup and file-workload overhead of the Linux backends (in process, no
# plugin hop) against running directly, through proc without a sandbox, and
# bubblewrap (when installed), measured in the same run. Each mode is
# measured twice: with the helper roles served by a re-exec of the plugin
# binary, and by the dedicated sbx-linux-sandbox (both freshly built here).
#
#   sh bench/linux/run.sh            # 200 startups per launcher
#   SBX_BENCH_N=500 sh bench/linux/run.sh
#
# The file workload runs on a fresh tmpfs: root only, skipped otherwise. Needs cgo + libseccomp-dev to build.
set -eu
cd "$(dirname "$0")/../.."
bin=$(mktemp -d /var/tmp/sbx-bench-bin-XXXXXX)
trap 'rm -rf "$bin"' EXIT
chmod 755 "$bin"
# As ./dev.sh build installs them: the plugin with cgo (libseccomp), the helper
# without (a static binary; cgo alone costs a Go program about a millisecond
# per start).
CGO_ENABLED=1 go build -o "$bin/" ./cmd/sbx-backend-linux
CGO_ENABLED=0 go build -o "$bin/" ./cmd/sbx-linux-sandbox
SBX_BENCH_BIN=$bin SBX_BENCH=1 go test -count=1 -run '^TestReport$' -v ./bench/linux | grep -v '^=== RUN'
