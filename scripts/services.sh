#!/usr/bin/env bash
# Make sure the services the tests talk to are up: PostgreSQL on 127.0.0.1:5432.
# (S3 is a moto server and the browser is Chromium, both started by the tests themselves.)
set -uo pipefail
if command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -t 2 >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && [ -d /etc/postgresql ]; then
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || true
  pg_isready -h 127.0.0.1 -p 5432 -t 30 >/dev/null && exit 0
fi
echo "warning: PostgreSQL is not reachable on 127.0.0.1:5432; its tests will skip" \
     "(or fail under GLIMPSE_REQUIRE_SERVICES=1)" >&2
exit 0
