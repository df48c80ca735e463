import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn } from '../support/test-project.js';
import { qualify, quoteIdent, quoteLiteral } from '../../src/render/quote.js';

/**
 * A rename's phase 3 carries what hangs on the old column instead of refusing (templates/shared/carry-replica-identity.hbs,
 * carry-owned-sequences.hbs, replica-identity-back.hbs): a published table whose REPLICA IDENTITY USING INDEX is the
 * renamed column's unique index, the column a `serial` (it owns its sequence). Through phases 1–3, the rollback of
 * phase 3 and phase 3 again, UPDATE and DELETE of the published table keep working (they fail on a table whose identity
 * index is gone), and inserts of the release before and after each phase take numbers from the one sequence: no
 * number twice, none NULL.
 */
const cleanups = cleanupsAfterAll();

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

interface Names {
  schema: string;
  table: string;
  from: string;
  to: string;
  index: string;
  publication: string;
}

async function lifecycle(names: Names) {
  const { schema, table, from, to, index, publication } = names;
  const t = qualify(schema, table);
  const oldCol = quoteIdent(from);
  const { url, ok } = await databaseWithFolder(
    cleanups,
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)};
     CREATE TABLE ${t} (id bigint PRIMARY KEY, ${oldCol} serial NOT NULL, note text);
     CREATE UNIQUE INDEX ${quoteIdent(index)} ON ${t} (${oldCol});
     ALTER TABLE ${t} REPLICA IDENTITY USING INDEX ${quoteIdent(index)};
     CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE ${t};
     INSERT INTO ${t} (id, note) SELECT g, 'n' || g FROM generate_series(1, 40) g;`,
    'phasectl-carried-identity-',
  );
  let nextId = 1000;
  const numbers: number[] = [];
  /** An insert of an application release: it names `column` (or none), and reads the number back. */
  const insert = async (column: string | undefined, returning: string) => {
    nextId += 1;
    const rows = await query<{ n: number }>(
      url,
      column === undefined
        ? `INSERT INTO ${t} (id, note) VALUES (${nextId}, 'app') RETURNING ${quoteIdent(returning)} AS n`
        : `INSERT INTO ${t} (id, note, ${quoteIdent(column)}) VALUES (${nextId}, 'app', DEFAULT) RETURNING ${quoteIdent(returning)} AS n`,
    );
    expect(rows[0]!.n, `insert ${nextId} got no number`).not.toBeNull();
    numbers.push(Number(rows[0]!.n));
  };
  const updateAndDelete = async () => {
    await query(url, `UPDATE ${t} SET note = 'updated' WHERE id = 1`);
    nextId += 1;
    await query(url, `INSERT INTO ${t} (id, note) VALUES (${nextId}, 'gone')`);
    await query(url, `DELETE FROM ${t} WHERE id = ${nextId}`);
  };
  const identityIndex = async () =>
    (
      await query<{ name: string | null }>(
        url,
        `SELECT (SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 WHERE i.indrelid = ${quoteLiteral(t)}::regclass AND i.indisreplident) AS name`,
      )
    )[0]!.name;
  const sequenceOwner = async () =>
    query<{ column: string }>(
      url,
      `SELECT a.attname::text AS column FROM pg_depend d
         JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
         JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
       WHERE d.classid = 'pg_class'::regclass AND d.refobjid = ${quoteLiteral(t)}::regclass AND d.deptype = 'a'`,
    );
  const noDuplicates = async (column: string) => {
    const [row] = await query<{ rows: number; distinct: number; nulls: number }>(
      url,
      `SELECT count(*)::int AS rows, count(DISTINCT ${quoteIdent(column)})::int AS distinct,
              count(*) FILTER (WHERE ${quoteIdent(column)} IS NULL)::int AS nulls FROM ${t}`,
    );
    expect(row!.distinct).toBe(row!.rows);
    expect(row!.nulls).toBe(0);
    expect(new Set(numbers).size).toBe(numbers.length);
  };
  const target = [schema, table, from].map((part) => `"${part.replace(/"/g, '""')}"`).join('.');

  await ok('init');
  await ok('plan', 'rename', target, to, '--id', 'carried');
  // Phase 1: both releases name only the old column (or none).
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  expect(await identityIndex()).toBe(index);
  await insert(undefined, from);
  await insert(from, from);
  await updateAndDelete();
  // Phase 2: the release before names the old column, the new release the new one.
  await ok('advance', '--release', '2.0.0');
  await ok('migrate', '--quiet');
  await insert(from, from);
  await insert(to, to);
  await insert(undefined, to);
  await updateAndDelete();
  await noDuplicates(to);
  // Phase 3: the identity moves to phase 1's copy, the sequence to the new column, whose default goes on counting.
  await ok('advance', '--release', '3.0.0');
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, t, from)).toBe(false);
  const copyIndex = await identityIndex();
  expect(copyIndex).not.toBeNull();
  expect(copyIndex).not.toBe(index);
  expect(await sequenceOwner()).toEqual([{ column: to }]);
  await insert(to, to);
  await insert(undefined, to);
  await updateAndDelete();
  await noDuplicates(to);
  // The rollback of phase 3: the identity and the sequence go back to the old column, which is NOT NULL again.
  await ok('rollback', '--release', '3.0.0', '--yes', '--quiet');
  expect(await identityIndex()).toBe(index);
  expect(await sequenceOwner()).toEqual([{ column: from }]);
  expect(
    await query(
      url,
      `SELECT attname::text AS name, attnotnull AS notnull FROM pg_attribute
       WHERE attrelid = ${quoteLiteral(t)}::regclass AND attname IN (${quoteLiteral(from)}, ${quoteLiteral(to)}) ORDER BY attnum`,
    ),
  ).toEqual([
    { name: to, notnull: false },
    { name: from, notnull: true },
  ]);
  await insert(from, from);
  await insert(to, to);
  await insert(undefined, from);
  await updateAndDelete();
  await noDuplicates(from);
  await noDuplicates(to);
  // And phase 3 again.
  await ok('migrate', '--quiet');
  expect(await identityIndex()).toBe(copyIndex);
  expect(await sequenceOwner()).toEqual([{ column: to }]);
  await insert(undefined, to);
  await updateAndDelete();
  await noDuplicates(to);
  // The numbers came from the sequence, in order.
  expect(numbers.every((n, i) => n > 40 && (i === 0 || n > numbers[i - 1]!))).toBe(true);
}

test('a serial column that is the replica identity of a published table: renamed through phases 1–3 and back', async () => {
  await lifecycle({
    schema: 'public',
    table: 'orders',
    from: 'num',
    to: 'order_number',
    index: 'orders_num_key',
    publication: 'orders_pub',
  });
}, 600_000);

const hostile: Names = {
  schema: `Sch "ë" Ü ${'ü'.repeat(25)}x`,
  table: `Évents "p" ✓ ${'é'.repeat(23)}x`,
  from: `Tïtle "x" ${'日'.repeat(17)}z`,
  to: `Nämé "y" ${'本'.repeat(17)}z`,
  index: `Ïd "q" ${'索'.repeat(18)}k`,
  publication: `Pub "x" Ü`,
};

test('hostile names are 63 bytes', () => {
  for (const name of [hostile.schema, hostile.table, hostile.from, hostile.to, hostile.index]) {
    expect(bytes(name), name).toBe(63);
  }
});

test('the same with quotes, spaces, capitals and 63-byte names', async () => {
  await lifecycle(hostile);
}, 600_000);

test('an identity column is refused at plan with a fix that works; one made an identity after plan stops phase 3 with its own fix', async () => {
  const { url, run, ok } = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.tickets (id bigint PRIMARY KEY, code int GENERATED ALWAYS AS IDENTITY, seat int NOT NULL);
     INSERT INTO public.tickets (id, seat) SELECT g, g FROM generate_series(1, 20) g;`,
    'phasectl-carried-identity-',
  );
  await ok('init');
  const refused = await run('plan', 'rename', 'public.tickets.code', 'ticket_code');
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).toContain('is an identity column');
  expect(refused.stderr).toContain('DROP IDENTITY');
  // The fix the hint gives, as written: the numbering goes on, and the rename is planned (the sequence is carried).
  await query(
    url,
    `BEGIN;
     LOCK TABLE public.tickets;
     CREATE SEQUENCE public.numbers_seq OWNED BY public.tickets."code";
     SELECT setval('public.numbers_seq', nextval(pg_get_serial_sequence('public.tickets', 'code')));
     ALTER TABLE public.tickets ALTER COLUMN "code" DROP IDENTITY, ALTER COLUMN "code" SET DEFAULT nextval('public.numbers_seq');
     COMMIT;`,
  );
  expect(await query(url, `INSERT INTO public.tickets (id, seat) VALUES (21, 21) RETURNING code`)).toEqual([
    { code: 22 },
  ]);
  await ok('plan', 'rename', 'public.tickets.code', 'ticket_code', '--id', 'code');

  // seat becomes an identity after plan: phase 3 names it, with a fix that is not ALTER SEQUENCE … OWNED BY (which
  // PostgreSQL refuses on an identity sequence).
  await ok('plan', 'rename', 'public.tickets.seat', 'place', '--id', 'seat');
  for (const release of ['1.0.0', '2.0.0']) {
    await ok('advance', '--release', release);
    await ok('migrate', '--quiet');
  }
  await query(url, `ALTER TABLE public.tickets ALTER COLUMN seat ADD GENERATED BY DEFAULT AS IDENTITY`);
  await ok('advance', '--release', '3.0.0');
  const stopped = await run('migrate', '--quiet');
  expect(stopped.code, stopped.stderr).toBe(3);
  expect(stopped.stderr).toContain('identity column seat of public.tickets (its sequence public.tickets_seat_seq)');
  expect(stopped.stderr).toContain('DROP IDENTITY');
  expect(stopped.stderr).not.toContain('OWNED BY');
  expect(await hasColumn(url, 'public.tickets', 'seat')).toBe(true);
}, 600_000);

test('a move keeps refusing a source column that owns a sequence', async () => {
  const { run, ok } = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, badge serial NOT NULL);
     CREATE TABLE public.profiles (id bigint PRIMARY KEY, user_id bigint NOT NULL UNIQUE);`,
    'phasectl-carried-identity-',
  );
  await ok('init');
  const refused = await run('plan', 'move', 'users.badge', 'profiles.badge', '--on', 'id=user_id');
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).toContain('owned sequence public.users_badge_seq');
}, 300_000);

test("partitioned: the parent's serial is carried; a sequence owned by a partition's column is refused, not dropped", async () => {
  const { url, run, ok } = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.events (id bigint NOT NULL, at date NOT NULL, num serial NOT NULL, PRIMARY KEY (id, at))
       PARTITION BY RANGE (at);
     CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
     CREATE TABLE public.events_2025 PARTITION OF public.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
     INSERT INTO public.events (id, at) SELECT g, DATE '2024-03-01' + g FROM generate_series(1, 30) g;`,
    'phasectl-carried-identity-',
  );
  await ok('init');
  await ok('plan', 'rename', 'public.events.num', 'event_number', '--id', 'events');
  for (const release of ['1.0.0', '2.0.0']) {
    await ok('advance', '--release', release);
    await ok('migrate', '--quiet');
  }
  await query(url, `CREATE SEQUENCE public.partition_numbers OWNED BY public.events_2025.num`);
  await ok('advance', '--release', '3.0.0');
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain('sequence public.partition_numbers (DROP COLUMN would drop it)');
  expect(refused.stderr).not.toContain('events_num_seq');
  await query(url, `ALTER SEQUENCE public.partition_numbers OWNED BY NONE`);
  await ok('migrate', '--quiet');
  expect(
    await query(url, `INSERT INTO public.events (id, at) VALUES (100, '2025-05-05') RETURNING event_number`),
  ).toEqual([{ event_number: 31 }]);
  expect(await query(url, `SELECT count(*)::int AS n FROM pg_class WHERE relname = 'partition_numbers'`)).toEqual([
    { n: 1 },
  ]);
}, 600_000);

test("phase 1's rollback refuses to drop the new column's index the replica identity was pointed at (exit 3, nothing changed), and names the fix", async () => {
  const { url, ok, run } = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text NOT NULL, note text);
     CREATE UNIQUE INDEX users_job_title_key ON public.users (job_title);
     CREATE PUBLICATION users_pub FOR TABLE public.users;
     INSERT INTO public.users SELECT g, 'title ' || g, 'n' FROM generate_series(1, 20) g;`,
    'phasectl-copy-identity-',
  );
  await ok('init');
  await ok('plan', 'rename', 'public.users.job_title', 'favourite_color', '--id', 'jt');
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  // By hand, after phase 1: the identity on phase 1's copy of the unique index (its column made NOT NULL for it).
  await query(
    url,
    `ALTER TABLE public.users ALTER COLUMN favourite_color SET NOT NULL;
     ALTER TABLE public.users REPLICA IDENTITY USING INDEX users_favourite_color_key;`,
  );
  const state = async () => ({
    indexes: await query(url, `SELECT indexname FROM pg_indexes WHERE tablename = 'users' ORDER BY 1`),
    identity: await query(
      url,
      `SELECT indexrelid::regclass::text AS index FROM pg_index WHERE indrelid = 'public.users'::regclass AND indisreplident`,
    ),
    columns: await query(
      url,
      `SELECT attname FROM pg_attribute WHERE attrelid = 'public.users'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    ),
    migrations: await query(url, `SELECT name FROM phasectl.migrations ORDER BY name`),
  });
  const before = await state();
  expect(before.identity).toEqual([{ index: 'users_favourite_color_key' }]);

  const refused = await run('rollback', '--release', '1.0.0', '--yes', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    'phase 1 of jt cannot be rolled back as things stand: its down files drop public.users.favourite_color and the indexes on it, and the replica identity of public.users is index users_favourite_color_key:',
  );
  expect(refused.stderr).toContain('nothing was changed');
  expect(refused.stderr).toContain('ALTER TABLE "public"."users" REPLICA IDENTITY USING INDEX "users_job_title_key";');
  expect(refused.stderr).toContain('ALTER TABLE "public"."users" REPLICA IDENTITY DEFAULT;');
  expect(refused.stderr).toContain('`phasectl rollback --release 1.0.0` again');
  expect(await state()).toEqual(before);
  await query(url, `UPDATE public.users SET note = 'still works' WHERE id = 1; DELETE FROM public.users WHERE id = 2`);

  // The fix it names: the rollback goes through, and the published table keeps taking UPDATE and DELETE.
  await query(url, `ALTER TABLE users REPLICA IDENTITY USING INDEX "users_job_title_key"`);
  await ok('rollback', '--release', '1.0.0', '--yes', '--quiet');
  expect(await hasColumn(url, 'public.users', 'favourite_color')).toBe(false);
  await query(
    url,
    `UPDATE public.users SET note = 'after rollback' WHERE id = 1; DELETE FROM public.users WHERE id = 3`,
  );
}, 300_000);
