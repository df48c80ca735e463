import { cp, mkdtemp, rm } from 'node:fs/promises';
import { chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { expect, test } from 'vitest';
import { embeddedBinaries, serverEnvironment } from '../../src/db/embedded-cluster.js';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';

/** The embedded server as a newcomer meets it: as root, in a private home, with their own PG* variables. */

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

test.runIf(isRoot)(
  'starts from binaries below a directory only root can enter (a project under /root)',
  async () => {
    const home = await mkdtemp(join(tmpdir(), 'phasectl-private-home-'));
    try {
      chmodSync(home, 0o700);
      const binaries = join(home, 'project', 'node_modules', 'native');
      await cp(await embeddedBinaries(), binaries, { recursive: true, verbatimSymlinks: true });
      const server = await startEmbeddedPostgres({ binariesDir: binaries });
      try {
        const client = new pg.Client({ connectionString: server.url });
        await client.connect();
        const { rows } = await client.query<{ user: string }>('SELECT current_user AS user');
        await client.end();
        expect(rows[0]?.user).toBe('postgres');
      } finally {
        await server.stop();
      }
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  },
  60_000,
);

test("the server's environment keeps none of the user's PG* or locale variables", () => {
  const env = serverEnvironment({
    PATH: '/bin',
    PGPORT: '',
    PGHOST: 'elsewhere',
    PGDATA: '/x',
    LC_ALL: 'xx_XX',
    HOME: '/root',
  });
  expect(env).toEqual({ PATH: '/bin', HOME: '/root', LANG: 'C', LC_ALL: 'C' });
});
