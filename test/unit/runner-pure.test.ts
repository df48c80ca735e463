import { describe, expect, test } from 'vitest';
import { nextBatchSize } from '../../src/backfill/batch-size.js';
import { keysetQueries } from '../../src/backfill/keyset.js';
import { isInvalidIndexRefusal, parseConcurrentIndex } from '../../src/runner/concurrent-index.js';
import { backoffDelay } from '../../src/session/lock-retry.js';
import { lockTimeoutScope, lockTimeoutSql } from '../../src/session/lock-timeout.js';
import { parseMigrationHeader, type MigrationFile } from '../../src/runner/migration-files.js';
import { pendingUpFiles, rollbackPlan, type AppliedMigration } from '../../src/runner/migration-plan.js';

function file(name: string, header?: string): MigrationFile {
  const content = `${header ?? ''}SELECT 1;\n`;
  return {
    name,
    path: `/p/${name}`,
    content,
    checksum: name,
    header: parseMigrationHeader(content, name),
    direction: name.endsWith('.down.sql') ? 'down' : 'up',
  };
}
const h = (change: string, phase: number, direction: string, step: string, release: string) =>
  `-- phasectl change=${change} phase=${phase} direction=${direction} step=${step} release=${release} transaction=true action=sql\n`;
const applied = (f: MigrationFile): AppliedMigration => ({
  name: f.name,
  checksum: f.checksum,
  changeId: f.header?.changeId ?? null,
  phase: f.header?.phase ?? null,
  direction: f.direction,
  release: f.header?.release ?? null,
  appliedAt: new Date(0),
});

describe('backoffDelay', () => {
  test('doubles from 200 ms, capped at 5 s, jittered within [base/2, base]', () => {
    const policy = { retryForSeconds: 60 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, policy, () => 1))).toEqual([
      200, 400, 800, 1600, 3200, 5000, 5000,
    ]);
    expect(backoffDelay(3, policy, () => 0)).toBe(400);
  });
});

describe('lockTimeoutScope', () => {
  test('finds SET [LOCAL] / RESET lock_timeout by parsing, and nothing else', () => {
    expect(lockTimeoutScope(`SET LOCAL lock_timeout = '2s'`)).toBe('local');
    expect(lockTimeoutScope('-- fail fast\nSET lock_timeout TO 5000')).toBe('session');
    expect(lockTimeoutScope('RESET lock_timeout')).toBe('session');
    expect(lockTimeoutScope(`SET "LOCK_TIMEOUT" = 0`)).toBe('session');
    expect(lockTimeoutScope(`SET LOCAL "Lock_Timeout" TO DEFAULT`)).toBe('local');
    expect(lockTimeoutScope(`SET LOCAL statement_timeout = '1min'`)).toBeUndefined();
    expect(lockTimeoutScope(`SELECT 'SET lock_timeout = 1'`)).toBeUndefined();
    expect(lockTimeoutScope(`SELECT pg_catalog.set_config('lock_timeout', '1s', true)`)).toBeUndefined();
    expect(lockTimeoutSql('local', 250)).toBe(`SET LOCAL lock_timeout = '250ms'`);
    expect(lockTimeoutSql('session', 250)).toBe(`SET lock_timeout = '250ms'`);
  });
});

describe('parseConcurrentIndex', () => {
  test('finds the index and table of CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS', () => {
    expect(
      parseConcurrentIndex(
        '-- rebuild\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "Users ""x"" idx" ON "public"."Users" USING btree (a)',
      ),
    ).toEqual({ index: 'Users "x" idx', table: '"public"."Users"' });
    expect(parseConcurrentIndex('create index concurrently if not exists Foo_idx on users (a)')).toEqual({
      index: 'foo_idx',
      table: 'users',
    });
    expect(parseConcurrentIndex('CREATE INDEX CONCURRENTLY foo ON users (a)')).toBeUndefined();
  });

  test("recognises only the create-index guard's INVALID refusal (the one the runner repairs)", () => {
    expect(
      isInvalidIndexRefusal(
        new Error('phasectl: index "public"."users_a_idx" is INVALID (an earlier build was interrupted)'),
      ),
    ).toBe(true);
    expect(
      isInvalidIndexRefusal(
        new Error(
          'phasectl: the name "public"."users_a_idx" is taken by another relation (…), not the index this step builds',
        ),
      ),
    ).toBe(false);
    expect(isInvalidIndexRefusal(new Error('duplicate key value violates unique constraint'))).toBe(false);
    expect(isInvalidIndexRefusal(undefined)).toBe(false);
  });
});

describe('nextBatchSize', () => {
  test('scales toward the target, at most ×2 or ×0.5, within [100, 50000]', () => {
    expect(nextBatchSize(1000, 50, 100, 1000)).toBe(2000);
    expect(nextBatchSize(1000, 10, 100, 1000)).toBe(2000);
    expect(nextBatchSize(1000, 1000, 100, 1000)).toBe(500);
    expect(nextBatchSize(150, 1000, 100, 1000)).toBe(100);
    expect(nextBatchSize(40_000, 1, 100, 1000)).toBe(50_000);
    expect(nextBatchSize(50, 1000, 100, 50)).toBe(50); // a smaller first size lowers the floor
  });
});

describe('keysetQueries', () => {
  test('composite keys compare as rows, travel as text and come back through casts', () => {
    const q = keysetQueries({
      table: { schema: 'app', table: 'Order Items' },
      keyColumns: ['tenant', 'id'],
      keyTypes: ['integer', 'bigint'],
    });
    expect(q.lastKey).toBe(
      'SELECT ARRAY["tenant"::text, "id"::text] AS key FROM "app"."Order Items" WHERE ("tenant", "id") >= ($1::integer, $2::bigint) AND ("tenant", "id") <= ($3::integer, $4::bigint) ORDER BY "tenant", "id" OFFSET $5::bigint LIMIT 1',
    );
    expect(q.maxKey).toContain('ORDER BY "tenant" DESC, "id" DESC LIMIT 1');
  });
});

describe('migration plans', () => {
  const a = file('001_1.0.0_c_p1_01_a.up.sql', h('c', 1, 'up', '01-a', '1.0.0'));
  const aDown = file('001_1.0.0_c_p1_01_a.down.sql', h('c', 1, 'down', '01-a', '1.0.0'));
  const b1 = file('002_1.1.0_c_p2_01_b.up.sql', h('c', 2, 'up', '01-b', '1.1.0'));
  const b2 = file('002_1.1.0_d_p1_01_b.up.sql', h('d', 1, 'up', '01-b', '1.1.0'));
  const bDown2 = file('002_1.1.0_c_p2_02_y.down.sql', h('c', 2, 'down', '02-y', '1.1.0'));
  const bDown1 = file('002_1.1.0_c_p2_01_x.down.sql', h('c', 2, 'down', '01-x', '1.1.0'));
  const dDown = file('002_1.1.0_d_p1_01_z.down.sql', h('d', 1, 'down', '01-z', '1.1.0'));
  const plain = file('000_seed.sql');
  const all = [a, aDown, b1, b2, bDown1, bDown2, dDown, plain];

  test('pending up files in name order; --to-release cuts after the release', () => {
    expect(pendingUpFiles(all, [applied(plain)]).map((f) => f.name)).toEqual([a.name, b1.name, b2.name]);
    expect(pendingUpFiles(all, [], '1.0.0').map((f) => f.name)).toEqual([plain.name, a.name]);
  });

  test('rollback: groups in reverse file order, downs ascending; older releases refused', () => {
    const done = [a, b1, b2].map(applied);
    expect(rollbackPlan(all, done, '1.1.0').map((g) => [g.changeId, g.downs.map((f) => f.name)])).toEqual([
      ['d', [dDown.name]],
      ['c', [bDown1.name, bDown2.name]],
    ]);
    expect(() => rollbackPlan(all, done, '1.0.0')).toThrow(/1\.1\.0 was applied after it/);
    expect(() => rollbackPlan(all, done, '9.0.0')).toThrow(/no applied migrations/);
  });

  test('a malformed phasectl header is an error naming the file and line 1', () => {
    expect(() => parseMigrationHeader('-- phasectl change=c phase=7\nSELECT 1;', 'x.up.sql')).toThrow(
      /malformed phasectl header/,
    );
    expect(parseMigrationHeader('-- just a comment\nSELECT 1;')).toBeUndefined();
  });
});
