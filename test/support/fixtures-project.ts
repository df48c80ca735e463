import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** The machine header line of a generated file (docs/internals.md), for hand-written test migrations. */
export function header(fields: {
  change: string;
  phase: 1 | 2 | 3;
  direction?: 'up' | 'down';
  step: string;
  release: string;
  transaction?: boolean;
  action?: 'sql' | 'backfill' | 'verify';
}): string {
  return (
    `-- phasectl change=${fields.change} phase=${fields.phase} direction=${fields.direction ?? 'up'} step=${fields.step} ` +
    `release=${fields.release} transaction=${fields.transaction ?? true} action=${fields.action ?? 'sql'}\n-- test step\n`
  );
}

/** A temporary project: phases.yaml (minimal unless given) and db/migrations holding `files`. */
export async function makeProject(
  files: Record<string, string>,
  phasesYaml = 'version: 1\n',
): Promise<{ dir: string; write(name: string, content: string): Promise<void>; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'phasectl-runner-'));
  await mkdir(join(dir, 'db', 'migrations'), { recursive: true });
  await writeFile(join(dir, 'phases.yaml'), phasesYaml);
  const write = (name: string, content: string) => writeFile(join(dir, 'db', 'migrations', name), content);
  for (const [name, content] of Object.entries(files)) await write(name, content);
  return { dir, write, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** One query on a fresh connection. */
export async function query<R extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  sql: string,
  params?: unknown[],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** A connected client that the test ends itself. */
export async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}
