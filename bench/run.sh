#!/usr/bin/env bash
# Startup benchmarks of sbx through its plugins. Run with ./dev.sh bench (which builds ./bin first).
#
# Reports medians and ratios against running `true` directly, measured in the same run:
#   1. whole commands with hyperfine: true; sbx run -- true through none, linux-landlock, linux-namespaces
#      (bin/sbx, the front end, served by its agent after the warm-up), and through none by the full CLI alone
#      (bin/sbx-cli, what every command cost before the front end); bwrap (when installed) with the flags the
#      Linux issue names;
#   2. the cost split of the plugin hop with `go test -bench` (plugins/host): process start + handshake,
#      and one Plan+Run on a running plugin, against fork+exec of /bin/true.
# bench/linux/ has the Linux backends' own benchmarks (in-process cost, file-heavy workload on a tmpfs).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-200}
out=bench/results
mkdir -p "$out"
if ! command -v hyperfine >/dev/null 2>&1; then
  echo "bench: hyperfine is not installed (Debian: apt-get install hyperfine); skipping whole-command timings" >&2
else
  # Not under /tmp: a writable temporary directory holding the workspace makes linux-landlock refuse strict runs.
  ws=$(mktemp -d /var/tmp/sbx-bench-ws-XXXXXX)
  cmds=(true "bin/sbx --backend=none run --best-effort --cwd $ws -- true" "bin/sbx-cli --backend=none run --best-effort --cwd $ws -- true")
  for b in linux-landlock linux-namespaces; do
    if bin/sbx --backend=$b run --cwd "$ws" -- true 2>/dev/null; then
      cmds+=("bin/sbx --backend=$b run --cwd $ws -- true")
    else
      echo "bench: $b cannot run here; left out" >&2
    fi
  done
  if command -v bwrap >/dev/null 2>&1 && bwrap --ro-bind / / --bind "$ws" "$ws" --unshare-all --die-with-parent true 2>/dev/null; then
    cmds+=("bwrap --ro-bind / / --bind $ws $ws --unshare-all --die-with-parent true")
  fi
  hyperfine -N --warmup 20 --runs "$RUNS" --export-json "$out/startup.json" "${cmds[@]}" >/dev/null
  echo "## sbx run -- true (median of $RUNS runs)"
  go run ./bench/summarize "$out/startup.json"
  rm -rf "$ws"
fi
echo
echo "## plugin hop split (go test -bench ./plugins/host)"
go test -run '^$' -bench . -benchtime "${RUNS}x" ./plugins/host | grep -E '^Benchmark' | tee "$out/plugin-split.txt"
