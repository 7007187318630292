#!/usr/bin/env bash
# Install what Glimpse needs on a fresh Debian machine: system packages (when run as root),
# a virtualenv in .venv with the package, and - with "test" - the test tools.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-run}
PY=${PYTHON:-python3}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "note: missing system packages (${missing[*]}); install them with apt-get as root" >&2
    return 0
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# qemu-img: resize action and format tests.
apt_install qemu-utils
if [ "$MODE" = test ]; then
  # memcached: the cache of the Keystone the identity tests start (tests/keystone).
  apt_install chromium postgresql memcached
  # Node runs the federation gateway and GraphQL-over-HTTP audit tests. Machines that ship
  # node with its own npm must keep it (Debian's npm package would conflict).
  command -v npm >/dev/null || apt_install nodejs npm
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
if [ "$MODE" = test ]; then
  .venv/bin/pip install -q -e '.[test]'
else
  .venv/bin/pip install -q -e .
fi

if [ "$MODE" = test ] && [ -f tests/js/package.json ]; then
  # Also when the lock file changed since the last install (npm writes its own copy).
  (cd tests/js && { [ node_modules/.package-lock.json -nt package-lock.json ] ||
    npm ci --no-audit --no-fund --loglevel=error; })
fi
