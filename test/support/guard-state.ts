import { join } from 'node:path';
import pg from 'pg';
import { phaseSteps } from '../../src/operations/index.js';
import type { Step } from '../../src/operations/types.js';
import { loadPhasesFile } from '../../src/spec/load.js';
import type { PhaseNumber } from '../../src/spec/types.js';
import { applyStep, catalogSnapshot } from './apply-sql.js';
import { behindSyncTriggers } from './behind-sync-triggers.js';

/**
 * What a refused step must leave exactly as it was: each table's schema (catalogSnapshot) and rows,
 * the body of every phasectl function (the sync authority lives there; not the state schema's own trust check,
 * which any run creates with the state tables), the phase each change reached and the files recorded as applied.
 */
export async function databaseState(client: pg.ClientBase, tables: string[]): Promise<Record<string, unknown>> {
  const state: Record<string, unknown> = {};
  for (const table of tables) {
    state[`schema ${table}`] = await catalogSnapshot(client, table);
    state[`rows ${table}`] = (await client.query(`SELECT * FROM ${table} ORDER BY 1`)).rows;
  }
  state.functions = (
    await client.query(`SELECT p.proname, pg_get_functiondef(p.oid) AS definition FROM pg_proc p
                                          WHERE p.pronamespace = to_regnamespace('phasectl')
                                            AND p.proname <> 'refuse_untrusted_code' ORDER BY 1`)
  ).rows;
  const hasState = (await client.query(`SELECT to_regclass('phasectl.changes') IS NOT NULL AS ok`)).rows[0]
    ?.ok as boolean;
  if (hasState) {
    state.changes = (await client.query('SELECT id, phase, release FROM phasectl.changes ORDER BY id')).rows;
    state.migrations = (await client.query('SELECT name FROM phasectl.migrations ORDER BY name')).rows.map(
      (row) => row.name as string,
    );
  }
  return state;
}

/** Writes behind the sync trigger (test/support/behind-sync-triggers.ts), the way a bulk tool or a restore can. */
export async function writeBehindTrigger(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(behindSyncTriggers(sql));
  } finally {
    await client.end();
  }
}

/** The generated steps of a change in a project (phases.yaml in `dir`). */
export async function projectSteps(
  dir: string,
  changeId: string,
  phase: PhaseNumber,
): Promise<{ up: Step[]; down: Step[] }> {
  const { spec } = await loadPhasesFile(join(dir, 'phases.yaml'));
  const change = spec.changes.find((candidate) => candidate.id === changeId);
  if (!change) throw new Error(`no change ${changeId} in ${dir}`);
  return phaseSteps(change, phase);
}

/** Applies the named up steps of a phase as a plain SQL runner would (test/support/apply-sql.ts). */
export async function applyNamedSteps(
  url: string,
  dir: string,
  changeId: string,
  phase: PhaseNumber,
  names: string[],
  direction: 'up' | 'down' = 'up',
): Promise<void> {
  const steps = (await projectSteps(dir, changeId, phase))[direction];
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const name of names) {
      const step = steps.find((candidate) => candidate.name === name);
      if (!step) throw new Error(`no ${direction} step ${name} in phase ${phase} of ${changeId}`);
      await applyStep(client, step);
    }
  } finally {
    await client.end();
  }
}

/** Polls `probe` every 20 ms until it returns true (fails after `timeoutMs`). */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
