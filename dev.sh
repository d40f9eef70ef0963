#!/usr/bin/env bash
# sbx developer entry point. The README's quick start is two of these:
#
#   ./dev.sh try     install what the build needs, build every binary into ./bin, run a real command under sbx
#   ./dev.sh test    run the whole test suite (as root: also again as an unprivileged user), vet for
#                    linux, windows and darwin
#
# Other verbs: build, vet, bench.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD

say() { printf '\n== %s\n' "$*" >&2; }

# deps installs the system packages the build needs: gcc and libseccomp (the Linux backend's seccomp layer
# is cgo) and pkg-config to find it. Debian/Ubuntu only; elsewhere it says what is missing.
deps() {
  local missing=()
  command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  pkg-config --exists libseccomp 2>/dev/null || missing+=(libseccomp-dev)
  if [ "${#missing[@]}" -eq 0 ]; then return; fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "dev.sh: please install: ${missing[*]}" >&2; exit 1
    fi
  fi
  say "installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

build() {
  deps
  say "building into ./bin"
  mkdir -p bin
  # Static binaries start faster (no dynamic loader); only the Linux plugin needs cgo (libseccomp compiles the
  # seccomp filter there; its sandbox helper loads the result and needs none).
  CGO_ENABLED=0 go build -o bin/ ./cmd/...
  CGO_ENABLED=1 go build -o bin/ ./cmd/sbx-backend-linux
  # `sbx` is the lean front end (cmd/sbx/front) and `sbx-cli` the full CLI (cmd/sbx) it hands commands to; see
  # docs/architecture.md (Front end). go build named them after their directories.
  mv -f bin/sbx bin/sbx-cli
  mv -f bin/front bin/sbx
}

try() {
  build
  local ws
  ws=$(mktemp -d /tmp/sbx-try-XXXXXX)
  mkdir -p "$ws/src"
  say "backends on this host"
  bin/sbx backends
  say "running a command in the sandbox (workspace $ws, default policy: workspace writable, .git etc. read-only, network denied)"
  set -x
  bin/sbx run --cwd "$ws" -- sh -c '
    echo "hello from inside" > src/inside.txt && echo "write inside the workspace: $(cat src/inside.txt)"
    if (echo x > "$HOME/sbx-should-not-exist") 2>/dev/null; then echo "write outside the workspace: ALLOWED"; else echo "write outside the workspace: denied"; fi
    if mkdir .git 2>/dev/null; then echo "creating .git: ALLOWED"; else echo "creating .git: denied"; fi
    if command -v python3 >/dev/null; then
      python3 -c "import socket; socket.create_connection((\"127.0.0.1\", 22), 1)" 2>/dev/null && echo "network: ALLOWED" || echo "network: denied"
    fi'
  { set +x; } 2>/dev/null
}

vet() {
  deps
  say "go vet (linux)"
  go vet ./...
  for os in windows darwin; do
    say "go vet + build (GOOS=$os)"
    GOOS=$os CGO_ENABLED=0 go vet ./...
    GOOS=$os CGO_ENABLED=0 go build -o /dev/null ./...
  done
  say "gofmt"
  local bad
  bad=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
  if [ -n "$bad" ]; then echo "gofmt would change: $bad" >&2; exit 1; fi
}

# unprivileged runs the test suite again as the user sbxtest (created if missing), on a copy of the tree
# that user owns, with a read-only view of root's module cache.
unprivileged() {
  local user=sbxtest copy=/tmp/sbx-unpriv-tree
  id "$user" >/dev/null 2>&1 || useradd -m -s /bin/bash "$user"
  local modcache
  modcache=$(go env GOMODCACHE)
  local shared=/var/cache/sbx-gomodcache
  say "sharing the module cache read-only with $user"
  mkdir -p "$shared"
  GOMODCACHE="$shared" GOFLAGS=-mod=readonly go mod download
  chmod -R a+rX "$shared"
  rm -rf "$copy" && mkdir -p "$copy"
  git ls-files -z 2>/dev/null | xargs -0 -I{} cp --parents {} "$copy"/ 2>/dev/null || cp -a . "$copy"
  chown -R "$user:$user" "$copy"
  say "go test ./... as $user"
  su "$user" -s /bin/bash -c "cd $copy && export PATH=$(dirname "$(command -v go)"):/usr/bin:/bin \
    HOME=/home/$user GOMODCACHE=$shared GOCACHE=/tmp/sbx-gocache-$user GOTOOLCHAIN=local GOFLAGS=-mod=readonly \
    GOPROXY=off CGO_ENABLED=1 && go test -count=1 -timeout 20m ./..."
  : "$modcache"
}

test_all() {
  vet
  say "go test ./... as $(id -un)"
  CGO_ENABLED=1 go test -count=1 -timeout 20m ./...
  if [ "$(id -u)" -eq 0 ]; then
    unprivileged
  else
    say "not root: skipping the second run as another user"
  fi
}

bench() {
  build
  bash bench/run.sh "$@"
}

case "${1:-}" in
  try) try ;;
  build) build ;;
  vet) vet ;;
  test) test_all ;;
  bench) shift; bench "$@" ;;
  *) echo "usage: ./dev.sh try|build|test|vet|bench" >&2; exit 2 ;;
esac
