import { expect, test } from 'vitest';
import { positionalUses, type ColumnLayout } from '../../src/dependents/column-order.js';

// users(id, job_title, note): the column is the second of three.
const t = { schema: 'public', table: 'users', column: 'job_title' };
const middle: ColumnLayout = { position: 2, columns: 3, removed: false };
// Lines count from the source's first line (the empty one after `AS $$`).
const pl = (source: string, layout = middle, returnsTrigger = false, rowArguments: string[] = []) =>
  positionalUses(
    { language: 'plpgsql', source: `\n${source}`, returnsTrigger, recordsMayBeTable: true, rowArguments },
    t,
    layout,
  ).map((use) => use.line);
const sqlf = (source: string, layout = middle) =>
  positionalUses({ language: 'sql', source, returnsTrigger: false, recordsMayBeTable: false }, t, layout);

test('positional INSERT into the table: values that reach the old column shift after phase 3', () => {
  expect(sqlf("INSERT INTO users VALUES ($1, 'a', 'b')")).toEqual([
    { line: 1, statement: "INSERT INTO users VALUES ($1, 'a', 'b')", wholeRow: false },
  ]);
  expect(sqlf("SELECT 1;\nINSERT INTO public.users SELECT $1, 'a', 'b'").map((use) => use.line)).toEqual([2]);
  expect(sqlf('INSERT INTO users SELECT * FROM archive')).toHaveLength(1);
  expect(sqlf('WITH x AS (INSERT INTO users VALUES (1, 2) RETURNING id) SELECT * FROM x')).toHaveLength(1);
  // Named columns, values that stop before the column, the table's own row, DEFAULT VALUES: unchanged.
  expect(sqlf("INSERT INTO users (id, job_title, note) VALUES ($1, 'a', 'b')")).toEqual([]);
  expect(sqlf('INSERT INTO users VALUES ($1)')).toEqual([]);
  expect(sqlf('INSERT INTO users SELECT * FROM users WHERE false')).toEqual([]);
  expect(sqlf('INSERT INTO users SELECT u.* FROM users u')).toEqual([]);
  expect(sqlf('INSERT INTO users DEFAULT VALUES')).toEqual([]);
  expect(sqlf('INSERT INTO archive VALUES (1, 2, 3)')).toEqual([]);
  // A rename of the table's last column: the new column takes its place.
  expect(sqlf("INSERT INTO users VALUES ($1, 'a', 'b')", { position: 3, columns: 3, removed: false })).toEqual([]);
  // A move's source loses the column: every value list that reaches it is off.
  expect(sqlf("INSERT INTO users VALUES ($1, 'a', 'b')", { position: 3, columns: 3, removed: true })).toHaveLength(1);
  expect(sqlf('INSERT INTO users VALUES ($1, $2)', { position: 3, columns: 3, removed: true })).toEqual([]);
});

test('the whole row of the table written by position elsewhere, or read into variables by position', () => {
  expect(sqlf('INSERT INTO archive SELECT * FROM users WHERE id = $1')).toHaveLength(1);
  expect(sqlf('INSERT INTO archive SELECT u.*, now() FROM users u')).toHaveLength(1);
  expect(sqlf('INSERT INTO archive (id) SELECT id FROM users')).toEqual([]);
  expect(sqlf('INSERT INTO archive SELECT * FROM orders')).toEqual([]);
  // An audit trigger on the table.
  expect(pl('BEGIN\n  INSERT INTO audit VALUES (OLD.*);\n  RETURN NEW;\nEND', middle, true)).toEqual([3]);
  expect(pl('BEGIN\n  INSERT INTO audit SELECT NEW.*, now();\n  RETURN NEW;\nEND', middle, true)).toEqual([3]);
  // Variables: a list, or a row of another type, are filled by position; a record or a row of the table follow it.
  const body = (declare: string, into: string) =>
    `DECLARE ${declare};\nBEGIN\n  SELECT * INTO ${into} FROM users WHERE id = 1;\n  RETURN;\nEND`;
  expect(pl(body('a int; b text; c text', 'a, b, c'))).toEqual([4]);
  expect(pl(body('r archive', 'r'))).toEqual([4]);
  expect(pl(body('r record', 'r'))).toEqual([]);
  expect(pl(body('r users', 'r'))).toEqual([]);
  expect(pl(body('r public.users%ROWTYPE', 'r'))).toEqual([]);
  expect(pl("DECLARE r users;\nBEGIN\n  SELECT 1, 'x', 'y' INTO r;\nEND")).toEqual([4]);
  expect(pl('DECLARE a int; b text;\nBEGIN\n  FOR a, b IN SELECT * FROM users LOOP\n  END LOOP;\nEND')).toEqual([4]);
  expect(pl('DECLARE r record;\nBEGIN\n  FOR r IN SELECT * FROM users LOOP\n  END LOOP;\nEND')).toEqual([]);
  // A row of the table put back into it, through a variable or an argument.
  expect(pl('DECLARE r users;\nBEGIN\n  SELECT * INTO r FROM users;\n  INSERT INTO users VALUES (r.*);\nEND')).toEqual(
    [],
  );
  expect(pl('BEGIN\n  INSERT INTO archive SELECT ($1).*;\nEND', middle, false, ['$1'])).toEqual([3]);
  // Unreadable: nothing certain.
  expect(pl('BEGIN x := ')).toEqual([]);
});

test('phase 3 of a rename and of a move carries the guard only when plan recorded a positional function', async () => {
  const { phaseSteps } = await import('../../src/operations/index.js');
  type Change = Parameters<typeof phaseSteps>[0];
  const fn = { name: 'public.add_user(integer)', fingerprint: '0123456789abcdef0123456789abcdef', namesColumn: false };
  const rename = (functions: object[]): Change =>
    ({
      kind: 'rename',
      id: 'users-title',
      rename: { schema: 'public', table: 'users', from: 'job_title', to: 'title' },
      column: { type: 'text', nullable: true, indexes: [], constraints: [] },
      key: { columns: ['id'], types: ['bigint'] },
      dependents: { foreignKeys: [], functions, triggers: [] },
      releases: { phase1: '1', phase2: '2', phase3: '3' },
    }) as Change;
  const move = (functions: object[]): Change =>
    ({
      kind: 'move',
      id: 'users-address',
      move: {
        from: { schema: 'public', table: 'users', column: 'address' },
        to: { schema: 'public', table: 'profiles', column: 'address' },
        on: [{ from: 'id', to: 'user_id' }],
      },
      column: { type: 'text', nullable: true, indexes: [], constraints: [] },
      key: { columns: ['id'], types: ['bigint'] },
      target: { existingColumn: false, uniqueIndex: 'profiles_user_id_key' },
      dependents: { foreignKeys: [], functions, triggers: [] },
      releases: { phase1: '1', phase2: '2', phase3: '3' },
    }) as Change;
  const sql = (change: Change) =>
    phaseSteps(change, 3)
      .up.map((step) => step.sql)
      .join('\n');
  for (const make of [rename, move]) {
    const guarded = sql(make([{ ...fn, byPosition: 3 }]));
    expect(guarded).toContain(`maps the columns of % by position', 'users-`);
    expect(guarded).toContain(`'${fn.fingerprint} ${fn.name}'`);
    expect(guarded).toContain(`"public"."users"`);
    expect(sql(make([fn]))).not.toContain('by position');
  }
});

test('the uses that break at phase 1: the whole row of the table written into another table by position', () => {
  const kinds = (source: string, returnsTrigger = false) =>
    positionalUses(
      { language: 'plpgsql', source: `\n${source}`, returnsTrigger, recordsMayBeTable: true, rowArguments: [] },
      t,
      middle,
    ).map((use) => use.wholeRow);
  // The row grows at phase 1: one more value for the other table.
  expect(kinds('BEGIN\n  INSERT INTO audit VALUES (OLD.*);\n  RETURN NEW;\nEND', true)).toEqual([true]);
  expect(kinds('BEGIN\n  INSERT INTO audit SELECT NEW.*, now();\n  RETURN NEW;\nEND', true)).toEqual([true]);
  expect(
    positionalUses(
      {
        language: 'sql',
        source: 'INSERT INTO archive SELECT * FROM users',
        returnsTrigger: false,
        recordsMayBeTable: false,
      },
      t,
      middle,
    ),
  ).toEqual([{ line: 1, statement: 'INSERT INTO archive SELECT * FROM users', wholeRow: true }]);
  // Only phase 3 shifts these: an INSERT into the table itself, variables (PL/pgSQL drops a grown row's extra values).
  expect(kinds("BEGIN\n  INSERT INTO users VALUES (1, 'a', 'b');\nEND")).toEqual([false]);
  expect(kinds('DECLARE a int; b text; c text;\nBEGIN\n  SELECT * INTO a, b, c FROM users;\nEND')).toEqual([false]);
  // Both in one statement: the phase 1 break wins.
  expect(
    kinds(
      "BEGIN\n  WITH x AS (INSERT INTO users VALUES (1, 'a', 'b') RETURNING *) INSERT INTO audit SELECT * FROM users;\nEND",
    ),
  ).toEqual([true]);
});

test('a move target: only its whole row written elsewhere counts, and withColumnOrder records both facts', async () => {
  const { judgeWholeRow, withColumnOrder } = await import('../../src/dependents/functions.js');
  const source = (name: string, body: string) => ({
    name,
    language: 'plpgsql',
    source: `\n${body}`,
    fingerprint: '0123456789abcdef0123456789abcdef',
    returnsTrigger: true,
    onThisTable: true,
    onOtherTable: false,
  });
  const profiles = { schema: 'public', table: 'profiles' };
  const growing = judgeWholeRow(
    [
      source('public.audit()', 'BEGIN\n  INSERT INTO profiles_audit VALUES (OLD.*);\n  RETURN NEW;\nEND'),
      source('public.add()', "BEGIN\n  INSERT INTO profiles VALUES (1, 2, 'x');\n  RETURN NEW;\nEND"),
      source('public.read()', 'DECLARE a int; b int;\nBEGIN\n  SELECT * INTO a, b FROM profiles;\n  RETURN NEW;\nEND'),
    ],
    profiles,
  );
  expect(growing.map((fn) => fn.name)).toEqual(['public.audit()']);
  const fn = { name: 'public.audit()', fingerprint: '0123456789abcdef0123456789abcdef', namesColumn: true, line: 2 };
  expect(withColumnOrder([fn], [], growing)).toEqual([{ ...fn, wholeRow: 3 }]);
  expect(withColumnOrder([], [], growing)).toEqual([
    { name: 'public.audit()', fingerprint: fn.fingerprint, namesColumn: false, wholeRow: 3 },
  ]);
});

test("phase 1's expand carries the whole-row guard only when plan recorded such a function, before ADD COLUMN", async () => {
  const { phaseSteps } = await import('../../src/operations/index.js');
  type Change = Parameters<typeof phaseSteps>[0];
  const fn = { name: 'public.audit()', fingerprint: '0123456789abcdef0123456789abcdef', namesColumn: false };
  const rename = (functions: object[]): Change =>
    ({
      kind: 'rename',
      id: 'users-title',
      rename: { schema: 'public', table: 'users', from: 'job_title', to: 'title' },
      column: { type: 'text', nullable: true, indexes: [], constraints: [] },
      key: { columns: ['id'], types: ['bigint'] },
      dependents: { foreignKeys: [], functions, triggers: [] },
      releases: { phase1: '1', phase2: '2', phase3: '3' },
    }) as Change;
  const move = (functions: object[]): Change =>
    ({
      kind: 'move',
      id: 'users-address',
      move: {
        from: { schema: 'public', table: 'users', column: 'address' },
        to: { schema: 'public', table: 'profiles', column: 'address' },
        on: [{ from: 'id', to: 'user_id' }],
      },
      column: { type: 'text', nullable: true, indexes: [], constraints: [] },
      key: { columns: ['id'], types: ['bigint'] },
      target: { existingColumn: false, uniqueIndex: 'profiles_user_id_key' },
      dependents: { foreignKeys: [], functions, triggers: [] },
      releases: { phase1: '1', phase2: '2', phase3: '3' },
    }) as Change;
  const expand = (change: Change) => phaseSteps(change, 1).up[0]!.sql;
  for (const [make, table] of [
    [rename, '"public"."users"'],
    [move, '"public"."profiles"'],
  ] as const) {
    const guarded = expand(make([{ ...fn, wholeRow: 3 }]));
    expect(guarded).toContain(`writes the whole row of % into another table by position', 'users-`);
    expect(guarded).toContain(`'${fn.fingerprint} ${fn.name}'`);
    expect(guarded.indexOf('writes the whole row')).toBeLessThan(guarded.indexOf('ADD COLUMN IF NOT EXISTS'));
    expect(guarded).toContain(`'${table}'::pg_catalog.regclass`);
    // byPosition alone (phase 3's business) and no record: phase 1 as it was.
    expect(expand(make([{ ...fn, byPosition: 3 }]))).toBe(expand(make([fn])));
    expect(expand(make([fn]))).not.toContain('whole row');
  }
});

test('a variable of the table row type spelled with quotes or capitals: SELECT * INTO it is not by position', () => {
  const capitals = { schema: 'My Schema', table: 'Users', column: 'Job' };
  const judge = (source: string) =>
    positionalUses({ language: 'plpgsql', source, returnsTrigger: false, recordsMayBeTable: false }, capitals, middle);
  expect(judge('DECLARE r "Users"%ROWTYPE;\nBEGIN\n  SELECT * INTO r FROM "Users";\nEND')).toEqual([]);
  expect(
    judge('DECLARE r "My Schema"."Users"%ROWTYPE;\nBEGIN\n  SELECT * INTO r FROM "My Schema"."Users";\nEND'),
  ).toEqual([]);
  // Filled from an explicit list, it is.
  expect(judge(`DECLARE r "Users"%ROWTYPE;\nBEGIN\n  SELECT 1, 'a', 'b' INTO r;\nEND`)).toHaveLength(1);
  const unicode = { schema: 'public', table: 'Ünï', column: 'job' };
  const source = `DECLARE r Ünï%ROWTYPE;\nBEGIN\n  SELECT 1, 'a', 'b' INTO r;\nEND`;
  expect(
    positionalUses({ language: 'plpgsql', source, returnsTrigger: false, recordsMayBeTable: false }, unicode, middle),
  ).toHaveLength(1);
});

test('the whole row of the table through a CTE, a subquery or a join: it grows at phase 1 too', () => {
  const whole = (source: string, language: 'sql' | 'plpgsql' = 'sql') =>
    positionalUses(
      {
        language,
        source: language === 'sql' ? source : `\n${source}`,
        returnsTrigger: false,
        recordsMayBeTable: language === 'plpgsql',
        rowArguments: [],
      },
      t,
      middle,
    ).map((use) => use.wholeRow);
  // The archiving idiom: rows deleted from the table, written into the archive by position.
  expect(
    whole('WITH moved AS (DELETE FROM users WHERE id < $1 RETURNING *) INSERT INTO archive SELECT * FROM moved'),
  ).toEqual([true]);
  expect(
    whole(
      'WITH moved AS (DELETE FROM users u WHERE id < $1 RETURNING u.*) INSERT INTO archive SELECT m.*, now() FROM moved m',
    ),
  ).toEqual([true]);
  expect(
    whole(
      'BEGIN\n  WITH moved AS (DELETE FROM users WHERE id < 10 RETURNING *)\n  INSERT INTO archive SELECT * FROM moved;\nEND',
      'plpgsql',
    ),
  ).toEqual([true]);
  expect(whole('WITH s AS (SELECT * FROM users) INSERT INTO archive SELECT * FROM s')).toEqual([true]);
  expect(whole('INSERT INTO archive SELECT * FROM (SELECT * FROM users WHERE id > 1) s')).toEqual([true]);
  expect(whole('INSERT INTO archive SELECT * FROM users JOIN other USING (id)')).toEqual([true]);
  expect(whole('INSERT INTO archive SELECT * FROM users u, LATERAL (SELECT 1) x')).toEqual([true]);
  expect(whole('INSERT INTO archive SELECT (u).* FROM users u')).toEqual([true]);
  // Named columns, another table's row: nothing grows.
  expect(whole('WITH moved AS (DELETE FROM users RETURNING id) INSERT INTO archive SELECT * FROM moved')).toEqual([]);
  expect(whole('WITH moved AS (DELETE FROM orders RETURNING *) INSERT INTO archive SELECT * FROM moved')).toEqual([]);
  expect(whole('INSERT INTO archive SELECT * FROM (SELECT id FROM users) s')).toEqual([]);
  expect(whole('INSERT INTO archive SELECT s.id FROM (SELECT * FROM users) s')).toEqual([]);
  // Into the table itself, its own row through a CTE: a shift only if it reaches the column (it does: unknown width).
  expect(whole('WITH s AS (SELECT * FROM users) INSERT INTO users SELECT * FROM s')).toEqual([false]);
});

test("MERGE's INSERT without a column list pairs values by position like an INSERT", () => {
  const merge = (source: string) =>
    positionalUses({ language: 'sql', source, returnsTrigger: false, recordsMayBeTable: false }, t, middle).map(
      (use) => use.wholeRow,
    );
  expect(
    merge(
      'MERGE INTO users u USING staging s ON u.id = s.id WHEN MATCHED THEN UPDATE SET note = s.note WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.t, s.n)',
    ),
  ).toEqual([false]);
  expect(merge('MERGE INTO archive a USING users u ON a.id = u.id WHEN NOT MATCHED THEN INSERT VALUES (u.*)')).toEqual([
    true,
  ]);
  // Named columns, values that stop before the column, the table's own row: unchanged.
  expect(
    merge(
      'MERGE INTO users u USING staging s ON u.id = s.id WHEN NOT MATCHED THEN INSERT (id, job_title, note) VALUES (s.id, s.t, s.n)',
    ),
  ).toEqual([]);
  expect(merge('MERGE INTO users u USING staging s ON u.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id)')).toEqual(
    [],
  );
  expect(merge('MERGE INTO users u USING users2 s ON u.id = s.id WHEN NOT MATCHED THEN INSERT DEFAULT VALUES')).toEqual(
    [],
  );
});
