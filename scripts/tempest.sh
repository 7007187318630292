#!/usr/bin/env bash
# tempest's image API tests (tempest.api.image, v2) against Glimpse behind a real Keystone,
# all on loopback. Installs what it needs (the test environment, then keystone and tempest
# from PyPI into cached virtualenvs under ~/.cache/glimpse-keystone), starts Keystone, a file
# server and Glimpse, writes tempest.conf and prints tempest's own totals.
#   scripts/tempest.sh [--regex R] [--concurrency N] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh test
exec .venv/bin/python -m tests.keystone.tempest_run "$@"
