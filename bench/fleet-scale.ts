/**
 * Phase 1 (release 1.0.0: expand, backfill, NOT NULL check, validate) on a fleet of N identical databases of R rows
 * through `migrate({ fleet })`, with concurrency 1, 2 and 4, against the sum of the single-database runs (the
 * per-target durations of the concurrency-1 run). Each run gets fresh copies of one template database.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { migrateFleet } from '../src/fleet/migrate-fleet.js';
import { withDatabase } from '../src/db/url.js';
import { createAccounts, renameProject } from './fixture.js';
import { checked, info, type BenchRow } from './report.js';
import { withClient } from './server.js';
import { since } from './stats.js';

export async function benchFleet(
  serverUrl: string,
  options: { databases: number; rows: number; log: (line: string) => void },
): Promise<BenchRow[]> {
  const section = `6. fleet: phase 1 on ${options.databases} databases of ${options.rows.toLocaleString('en-US')} rows`;
  const tag = `phasectl_fleet_${randomBytes(3).toString('hex')}`;
  const template = `${tag}_template`;
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE ${template}`));
  await withClient(withDatabase(serverUrl, template), (client) => createAccounts(client, options.rows));
  const project = await renameProject(withDatabase(serverUrl, template));
  const created: string[] = [];
  try {
    const totals = new Map<number, number>();
    let sumOfSingles = Number.NaN;
    for (const concurrency of [1, 2, 4]) {
      const names = Array.from(
        { length: options.databases },
        (_, i) => `${tag}_c${concurrency}_${String(i).padStart(2, '0')}`,
      );
      for (const name of names) {
        await withClient(serverUrl, (client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
        created.push(name);
      }
      await withClient(serverUrl, (client) => client.query('CHECKPOINT'));
      const fleetFile = join(project.dir, `fleet-${concurrency}.yaml`);
      await writeFile(fleetFile, `targets:\n  - discover: \${BENCH_SERVER}\n    databases: ${tag}_c${concurrency}_*\n`);
      options.log(`fleet: phase 1 on ${names.length} databases, concurrency ${concurrency}`);
      const started = performance.now();
      const result = await migrateFleet({
        fleet: fleetFile,
        projectDir: project.dir,
        concurrency,
        toRelease: '1.0.0',
        env: { BENCH_SERVER: serverUrl },
      });
      const ms = since(started);
      if (!result.safeToDeploy) throw new Error(`fleet bench: ${result.line}`);
      totals.set(concurrency, ms);
      if (concurrency === 1) sumOfSingles = result.targets.reduce((sum, t) => sum + t.durationMs, 0);
    }
    const one = totals.get(1)!;
    return [
      info({
        section,
        metric: 'concurrency 1 (whole run)',
        value: one / 1000,
        unit: 's',
        baseline: sumOfSingles / 1000,
        baselineLabel: 'sum of single-database runs',
        ratio: sumOfSingles / one,
      }),
      checked(
        {
          section,
          metric: 'concurrency 2',
          value: totals.get(2)! / 1000,
          unit: 's',
          baseline: one / 1000,
          baselineLabel: 'concurrency 1',
          ratio: one / totals.get(2)!,
          target: '≤ 0.65 of concurrency 1 (ratio ≥ 1.54)',
        },
        totals.get(2)! <= 0.65 * one,
      ),
      info({
        section,
        metric: 'concurrency 4',
        value: totals.get(4)! / 1000,
        unit: 's',
        baseline: one / 1000,
        baselineLabel: 'concurrency 1',
        ratio: one / totals.get(4)!,
      }),
    ];
  } finally {
    for (const name of [...created, template])
      await withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch(
        () => undefined,
      );
    await project.remove();
  }
}
