import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder } from '../support/test-project.js';

/**
 * Constraint and index shapes a real schema has on the renamed column, each carried through the CLI's three
 * releases with rows present: the constraint bites during phase 2 (writes naming either column), after phase 3
 * (on the new column, under its copy's name) and again on the old column once phase 3 is rolled back. Shapes
 * phasectl cannot copy are refused at plan, naming the fix, changing nothing.
 */
const cleanups = cleanupsAfterAll();

const SCHEMA = `
  CREATE SCHEMA s;
  CREATE TABLE s.deferred (id int PRIMARY KEY, code text,
    CONSTRAINT deferred_code_key UNIQUE (code) DEFERRABLE INITIALLY DEFERRED);
  CREATE TABLE s.partial (id int PRIMARY KEY, email text, tenant int, active boolean NOT NULL DEFAULT true);
  CREATE UNIQUE INDEX partial_email_active ON s.partial (email) WHERE active;
  CREATE UNIQUE INDEX partial_tenant_when_email ON s.partial (tenant) WHERE email IS NOT NULL;
  CREATE TABLE s.idx (id int PRIMARY KEY, name text, k int NOT NULL);
  CREATE UNIQUE INDEX idx_lower_name ON s.idx (lower(name));
  CREATE UNIQUE INDEX idx_k_incl ON s.idx (k) INCLUDE (name);
  CREATE INDEX idx_name_c ON s.idx (name COLLATE "C" text_pattern_ops DESC NULLS FIRST);
  CREATE INDEX idx_name_hash ON s.idx USING hash (name);
  CREATE INDEX idx_name_brin ON s.idx USING brin (name);
  CREATE INDEX idx_name_gin ON s.idx USING gin (to_tsvector('simple', name));
  CREATE INDEX idx_name_plain ON s.idx (name);
  CLUSTER s.idx USING idx_name_plain;
  COMMENT ON INDEX s.idx_name_plain IS 'name lookups';
  CREATE TABLE s.tagged (id int PRIMARY KEY, tags text[]);
  CREATE INDEX tagged_tags_gin ON s.tagged USING gin (tags);
  CREATE TABLE s.checks (id int PRIMARY KEY, lo int, hi int,
    CONSTRAINT lo_le_hi CHECK (lo <= hi), CONSTRAINT lo_pos CHECK (lo >= 0) NO INHERIT);
  COMMENT ON CONSTRAINT lo_le_hi ON s.checks IS 'a range, ordered';
  COMMENT ON CONSTRAINT deferred_code_key ON s.deferred IS 'one row per code';
  CREATE TABLE s.parents (id int PRIMARY KEY, code text UNIQUE);
  CREATE TABLE s.kids (id int PRIMARY KEY, parent_code text CONSTRAINT kids_parent_code_fkey
    REFERENCES s.parents (code) ON UPDATE CASCADE ON DELETE SET NULL);
  CREATE TABLE s.upserts (id int PRIMARY KEY, slug text NOT NULL UNIQUE, hits int NOT NULL DEFAULT 0);
  INSERT INTO s.deferred SELECT g, 'c' || g FROM generate_series(1, 20) g;
  INSERT INTO s.partial SELECT g, 'e' || g, g, g % 2 = 0 FROM generate_series(1, 20) g;
  INSERT INTO s.idx SELECT g, 'n' || g, g FROM generate_series(1, 20) g;
  INSERT INTO s.tagged SELECT g, ARRAY['t' || g] FROM generate_series(1, 20) g;
  INSERT INTO s.checks SELECT g, g, g + 1 FROM generate_series(1, 20) g;
  INSERT INTO s.parents SELECT g, 'p' || g FROM generate_series(1, 20) g;
  INSERT INTO s.kids SELECT g, 'p' || g FROM generate_series(1, 20) g;
  INSERT INTO s.upserts SELECT g, 'u' || g FROM generate_series(1, 20) g;`;

/** PostgreSQL 15+: UNIQUE NULLS NOT DISTINCT, and ON DELETE SET NULL (column) on a two-column foreign key. */
const SCHEMA_15 = `
  CREATE TABLE s.nnd (id int PRIMARY KEY, sku text, CONSTRAINT nnd_sku_key UNIQUE NULLS NOT DISTINCT (sku));
  CREATE TABLE s.orgs (id int PRIMARY KEY, tenant int NOT NULL, code text, UNIQUE (tenant, code));
  CREATE TABLE s.members (id int PRIMARY KEY, tenant int, org_code text, CONSTRAINT members_org_fkey
    FOREIGN KEY (tenant, org_code) REFERENCES s.orgs (tenant, code) ON DELETE SET NULL (org_code));
  INSERT INTO s.nnd SELECT g, CASE WHEN g = 1 THEN NULL ELSE 's' || g END FROM generate_series(1, 20) g;
  INSERT INTO s.orgs SELECT g, 1, 'o' || g FROM generate_series(1, 20) g;
  INSERT INTO s.members SELECT g, 1, 'o' || g FROM generate_series(1, 20) g;`;

/** table.column → new name. */
const RENAMES: Array<[string, string]> = [
  ['deferred.code', 'ref'],
  ['partial.email', 'mail'],
  ['idx.name', 'label'],
  ['tagged.tags', 'labels'],
  ['checks.lo', 'low'],
  ['parents.code', 'parent_key'],
  ['upserts.slug', 'handle'],
];
const RENAMES_15: Array<[string, string]> = [
  ['nnd.sku', 'stock_code'],
  ['members.org_code', 'org_ref'],
];

const UNIQUE = /duplicate key value violates unique constraint/;
const CHECK = /violates check constraint/;
const FOREIGN_KEY = /violates foreign key constraint/;

/** A write and the error it must raise (phase 2 may raise either copy's name, so no name here). */
type Violation = [sql: string, error: RegExp];

/** Writes that break each shape, naming the column `column('table.column')` gives (the old or the new name). */
function violations(column: (old: string) => string, v15: boolean): Violation[] {
  const c = column;
  const list: Violation[] = [
    // Deferred: refused at COMMIT, not at the INSERT.
    [`BEGIN; INSERT INTO s.deferred (id, ${c('deferred.code')}) VALUES (900, 'c1'); COMMIT;`, UNIQUE],
    [`INSERT INTO s.partial (id, ${c('partial.email')}, tenant, active) VALUES (900, 'e2', 900, true)`, UNIQUE],
    // Partial index whose predicate names the column: tenant 3 has an email.
    [`INSERT INTO s.partial (id, ${c('partial.email')}, tenant, active) VALUES (901, 'zz', 3, false)`, UNIQUE],
    [`INSERT INTO s.idx (id, ${c('idx.name')}, k) VALUES (900, 'N1', 900)`, UNIQUE],
    [`INSERT INTO s.checks (id, ${c('checks.lo')}, hi) VALUES (900, 5, 1)`, CHECK],
    [`INSERT INTO s.checks (id, ${c('checks.lo')}, hi) VALUES (901, -1, 1)`, CHECK],
    [`INSERT INTO s.parents (id, ${c('parents.code')}) VALUES (900, 'p1')`, UNIQUE],
    [`INSERT INTO s.upserts (id, ${c('upserts.slug')}) VALUES (900, 'u1')`, UNIQUE],
    [
      `INSERT INTO s.upserts (id, ${c('upserts.slug')}) VALUES (901, NULL)`,
      /violates not-null constraint|violates check constraint/,
    ],
  ];
  if (v15)
    list.push(
      [`INSERT INTO s.nnd (id, ${c('nnd.sku')}) VALUES (900, NULL)`, UNIQUE],
      [`INSERT INTO s.members (id, tenant, ${c('members.org_code')}) VALUES (900, 1, 'nope')`, FOREIGN_KEY],
    );
  return list;
}

async function expectAllRefused(url: string, writes: Violation[], when: string): Promise<void> {
  for (const [sql, error] of writes) {
    const outcome = await query(url, sql).then(
      () => 'accepted',
      (failure: Error) => failure.message,
    );
    // A failed multi-statement BEGIN … COMMIT leaves the connection's transaction aborted: query() opens a new one each call.
    expect(outcome, `${when}: ${sql}`).toMatch(error);
  }
}

/**
 * Every index and constraint of schema s: name, definition, and what pg_get_*def does not print (valid, the table's
 * CLUSTER index, the comment).
 */
async function shapes(url: string) {
  return query(
    url,
    `SELECT 'index' AS kind, c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition, i.indisvalid AS valid,
            i.indisclustered AS clustered, obj_description(c.oid, 'pg_class') AS comment
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = 's'::regnamespace
     UNION ALL
     SELECT 'constraint', conname, pg_get_constraintdef(oid), convalidated, NULL, obj_description(oid, 'pg_constraint')
       FROM pg_constraint WHERE connamespace = 's'::regnamespace
     ORDER BY 1, 2`,
  );
}

/** The comment and CLUSTER mark of index `name` or, with `table`, the comment of constraint `name` on it. */
async function marks(url: string, name: string, table?: string) {
  const rows = table
    ? await query(
        url,
        `SELECT obj_description(oid, 'pg_constraint') AS comment FROM pg_constraint WHERE conname = $1 AND conrelid = $2::regclass`,
        [name, table],
      )
    : await query(
        url,
        `SELECT obj_description(indexrelid, 'pg_class') AS comment, indisclustered AS clustered FROM pg_index
         WHERE indexrelid = $1::regclass`,
        [`s.${name}`],
      );
  return rows[0];
}

test('every constraint and index shape on the column bites in phase 2, after phase 3, and again after its rollback', async () => {
  const { url, run, ok } = await databaseWithFolder(cleanups, SCHEMA, 'phasectl-constraint-shapes-');
  const [server] = await query<{ num: number }>(url, `SELECT current_setting('server_version_num')::int AS num`);
  const v15 = server!.num >= 150000;
  if (v15) await query(url, SCHEMA_15);
  await ok('init');
  const renames = v15 ? [...RENAMES, ...RENAMES_15] : RENAMES;
  const renamed = new Map(renames);
  let planned = '';
  for (const [from, to] of renames) planned += (await ok('plan', 'rename', `s.${from}`, to)).stdout;
  // The deferrable UNIQUE's copy is checked at once until it is attached: plan says so (the only such note).
  expect(planned.match(/is DEFERRABLE/g)).toHaveLength(1);
  expect(planned).toContain(
    'UNIQUE constraint deferred_code_key is DEFERRABLE, and PostgreSQL cannot build a deferrable unique index without blocking writes',
  );
  for (const release of ['1.0.0', '1.1.0', '1.2.0']) await ok('advance', '--release', release);
  const before = violations((old) => old.split('.')[1]!, v15);
  await expectAllRefused(url, before, 'before phase 1');

  await ok('migrate', '--to-release', '1.0.0', '--quiet');
  await expectAllRefused(url, before, 'phase 1');
  await ok('migrate', '--to-release', '1.1.0', '--quiet');
  const phase2 = await shapes(url);
  // Phase 1 gave the copies the originals' comments (pg_get_*def does not print them); the CLUSTER mark stays put.
  expect(await marks(url, 'idx_label_plain')).toEqual({ comment: 'name lookups', clustered: false });
  expect(await marks(url, 'low_le_hi', 's.checks')).toEqual({ comment: 'a range, ordered' });
  expect(await marks(url, 'deferred_ref_key', 's.deferred')).toEqual({ comment: 'one row per code' });
  // Phase 2: instances of both releases write; each write is refused, whichever column it names.
  await expectAllRefused(url, before, 'phase 2, old column');
  await expectAllRefused(
    url,
    violations((old) => renamed.get(old)!, v15),
    'phase 2, new column',
  );
  // The new release's upsert names the new column: its unique index must already be there and valid.
  expect(
    await query(
      url,
      `INSERT INTO s.upserts (id, handle) VALUES (950, 'u1') ON CONFLICT (handle) DO UPDATE SET hits = s.upserts.hits + 1
       RETURNING id, slug, handle, hits`,
    ),
  ).toEqual([{ id: 1, slug: 'u1', handle: 'u1', hits: 1 }]);
  expect(
    await query(
      url,
      `INSERT INTO s.upserts (id, slug) VALUES (951, 'u2') ON CONFLICT (slug) DO UPDATE SET hits = 7 RETURNING id, handle, hits`,
    ),
  ).toEqual([{ id: 2, handle: 'u2', hits: 7 }]);

  await ok('migrate', '--quiet');
  // After phase 3, on the new column, under the copies' names.
  const after = violations((old) => renamed.get(old)!, v15);
  await expectAllRefused(url, after, 'after phase 3');
  const named: Array<[string, string]> = [
    [after[0]![0], 'deferred_ref_key'],
    [after[1]![0], 'partial_mail_active'],
    [after[2]![0], 'partial_tenant_when_mail'],
    [after[3]![0], 'idx_lower_label'],
    [after[4]![0], 'low_le_hi'],
    [after[5]![0], 'low_pos'],
    [after[6]![0], 'parents_parent_key_key'],
    [after[7]![0], 'upserts_handle_key'],
  ];
  if (v15) named.push([after[9]![0], 'nnd_stock_code_key'], [after[10]![0], 'members_org_fkey_org_ref']);
  for (const [sql, name] of named) await expect(query(url, sql), sql).rejects.toThrow(`"${name}"`);
  // The table's CLUSTER index is the copy: a scheduled `CLUSTER s.idx` keeps working.
  expect(await marks(url, 'idx_label_plain')).toEqual({ comment: 'name lookups', clustered: true });
  await query(url, `CLUSTER s.idx`);
  // The deferred key is still deferred: a swap inside one transaction commits.
  await query(
    url,
    `BEGIN; UPDATE s.deferred SET ref = 'c2' WHERE id = 1; UPDATE s.deferred SET ref = 'c1' WHERE id = 2; COMMIT;`,
  );
  // The referencing key's actions act on the renamed column: ON UPDATE CASCADE, ON DELETE SET NULL.
  await query(url, `UPDATE s.parents SET parent_key = 'p5-moved' WHERE id = 5; DELETE FROM s.parents WHERE id = 6`);
  expect(await query(url, `SELECT id, parent_code FROM s.kids WHERE id IN (5, 6) ORDER BY id`)).toEqual([
    { id: 5, parent_code: 'p5-moved' },
    { id: 6, parent_code: null },
  ]);
  if (v15) {
    // ON DELETE SET NULL (org_ref): only that column is cleared, tenant stays.
    await query(url, `DELETE FROM s.orgs WHERE id = 3`);
    expect(await query(url, `SELECT tenant, org_ref FROM s.members WHERE id = 3`)).toEqual([
      { tenant: 1, org_ref: null },
    ]);
  }
  expect(await query(url, `SELECT count(*)::int AS n FROM s.idx WHERE label LIKE 'n1%'`)).toEqual([{ n: 11 }]);

  // Rolling phase 3 back: the old column's indexes and constraints are back, as in phase 2 (comments and the
  // CLUSTER mark too), and bite.
  await ok('rollback', '--release', '1.2.0', '--yes', '--quiet');
  expect(await shapes(url)).toEqual(phase2);
  await expectAllRefused(
    url,
    violations((old) => old.split('.')[1]!, v15),
    'after rolling phase 3 back',
  );
  expect((await run('status')).code).toBe(0);
}, 300_000);

test('an exclusion constraint, a DEFERRABLE primary key, or an index or key another rename copies too: refused at plan with the fix, nothing changed', async () => {
  const { url, dir, run, ok } = await databaseWithFolder(
    cleanups,
    `CREATE SCHEMA s;
     CREATE TABLE s.bookings (id int PRIMARY KEY, during tstzrange NOT NULL, EXCLUDE USING gist (during WITH &&));
     CREATE TABLE s.codes (code text, n int NOT NULL UNIQUE,
       CONSTRAINT codes_pkey PRIMARY KEY (code) DEFERRABLE INITIALLY DEFERRED);
     CREATE TABLE s.partial (id int PRIMARY KEY, email text, tenant int);
     CREATE UNIQUE INDEX partial_tenant_when_email ON s.partial (tenant) WHERE email IS NOT NULL;
     CREATE TABLE s.parents (id int PRIMARY KEY, code text UNIQUE);
     CREATE TABLE s.kids (id int PRIMARY KEY, parent_code text CONSTRAINT kids_parent_code_fkey REFERENCES s.parents (code));`,
    'phasectl-constraint-refusals-',
  );
  await ok('init');
  // Each of these, planned alone, is fine; the second of a pair would copy what the first copies too (each copy naming
  // the other's old column: each phase 3 would refuse, a rollback of both could not rebuild it).
  await ok('plan', 'rename', 's.partial.email', 'mail', '--id', 'email');
  await ok('plan', 'rename', 's.parents.code', 'parent_key', '--id', 'code');
  const yaml = await readFile(join(dir, 'phases.yaml'), 'utf8');
  const catalog = await shapes(url);
  const refusals: Array<[string, string[]]> = [
    [
      's.bookings.during',
      ['exclusion constraint bookings_during_excl', 'drop the exclusion constraint before the change and re-create it'],
    ],
    ['s.codes.code', ['primary key codes_pkey', 'rename them in a maintenance window']],
    [
      's.partial.tenant',
      [
        'index s.partial_tenant_when_email also name(s) email, renamed by change "email"',
        'once "email" has had its phase 3',
      ],
    ],
    [
      's.kids.parent_code',
      [
        'constraint kids_parent_code_fkey on s.kids also name(s) code, renamed by change "code"',
        'once "code" has had its phase 3',
      ],
    ],
  ];
  for (const [target, words] of refusals) {
    const refused = await run('plan', 'rename', target, 'renamed');
    expect(refused.code, `${target}\n${refused.stdout}\n${refused.stderr}`).toBe(2);
    for (const word of words) expect(refused.stderr).toContain(word);
  }
  expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(yaml);
  expect(await shapes(url)).toEqual(catalog);
}, 120_000);
