import { expect, test } from 'vitest';
import { qualify, quoteIdent } from '../../src/render/quote.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn } from '../support/test-project.js';

/**
 * Hostile names (quotes, `;`, `--`, `$$`, `%`, backslashes, spaces, capitals, unicode, 63 bytes with a multi-byte
 * character at the boundary) on the table, its columns and on the objects the catalog guards of phase 1 and phase 3
 * read and name (policies, publications, indexes, statistics objects, sequences, functions, foreign keys): each guard
 * refuses with the object named as PostgreSQL spells it, nothing runs a name as SQL, `%` in a name does not upset
 * format() or RAISE.
 */
const cleanups = cleanupsAfterAll();

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
/** `text` padded with `x` to 61 bytes, then `é`: exactly 63 bytes, the last character multi-byte. */
const long63 = (text: string) => {
  let name = text;
  while (bytes(name) < 61) name += 'x';
  name += 'é';
  expect(bytes(name)).toBe(63);
  return name;
};

const SCHEMA = `Sch"; DROP TABLE public.victim; --`;
const TABLE = long63(`Us'ers $$ %s %I \\ `);
const COLUMN = long63(`Job "Title"; -- %% $phasectl$ `);
const NEW = `Fav ''colour'' %L E'\\n'`;
const table = qualify(SCHEMA, TABLE);
const column = quoteIdent(COLUMN);
const target = `${table}.${column}`;

const setup = `
  CREATE TABLE public.victim (id int PRIMARY KEY); INSERT INTO public.victim VALUES (1);
  CREATE SCHEMA ${quoteIdent(SCHEMA)};
  CREATE TABLE ${table} (id bigint PRIMARY KEY, ${column} text NOT NULL DEFAULT 'x', team int);
  INSERT INTO ${table} SELECT g, 'title ' || g, g % 3 FROM generate_series(1, 20) g;`;

async function victimIntact(url: string) {
  expect(await query(url, `SELECT count(*)::int AS n FROM public.victim`)).toEqual([{ n: 1 }]);
}

async function renameAtPhase3(extra = '') {
  const project = await databaseWithFolder(cleanups, setup + extra, 'phasectl-hostile-guards-');
  await project.ok('init');
  const plan = await project.ok('plan', 'rename', target, NEW, '--id', 'hostile');
  for (const release of ['1.0.0', '2.0.0']) {
    await project.ok('advance', '--release', release);
    await project.ok('migrate', '--quiet');
  }
  await project.ok('advance', '--release', '3.0.0');
  return { ...project, plan: plan.stdout };
}

test('hostile names: functions whose row variables are spelled with quotes or non-ASCII capitals block phase 3', async () => {
  // PostgreSQL folds only ASCII capitals: `Ärger` is a variable named Ärger, `"R"` one named R. Each function reads the
  // column through such a variable and fails once phase 3 has dropped it.
  const row = `${table}%ROWTYPE`;
  const functions = {
    quoted: `DECLARE "R" ${row}; BEGIN SELECT * INTO "R" FROM ${table} WHERE id = 1; RETURN "R".${column}; END`,
    unicode: `DECLARE Ärger ${row}; BEGIN SELECT * INTO Ärger FROM ${table} WHERE id = 1; RETURN Ärger.${column}; END`,
    record: `DECLARE "Rec" record; BEGIN SELECT * INTO "Rec" FROM ${table} WHERE id = 1; RETURN "Rec".${column}; END`,
  };
  const created = Object.entries(functions)
    .map(
      ([name, body]) =>
        `CREATE FUNCTION ${qualify(SCHEMA, `read ${name} %s`)}() RETURNS text LANGUAGE plpgsql AS ${'$body$'}${body}${'$body$'};`,
    )
    .join('\n');
  const { url, run, ok, plan } = await renameAtPhase3(created);
  for (const name of Object.keys(functions)) {
    const fn = `${qualify(SCHEMA, `read ${name} %s`)}()`;
    expect(plan).toContain(fn);
    expect(await query(url, `SELECT ${fn} AS v`)).toEqual([{ v: 'title 1' }]);
  }
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stdout + refused.stderr).toBe(3);
  for (const name of Object.keys(functions))
    expect(refused.stderr).toContain(`${qualify(SCHEMA, `read ${name} %s`)}()`);
  expect(await hasColumn(url, table, COLUMN)).toBe(true);
  await victimIntact(url);

  // Rewritten to read the new column: phase 3 goes ahead and each still works.
  const renamed = Object.entries(functions)
    .map(
      ([name, body]) =>
        `CREATE OR REPLACE FUNCTION ${qualify(SCHEMA, `read ${name} %s`)}() RETURNS text LANGUAGE plpgsql AS ${'$body$'}${body.replaceAll(`.${column}`, `.${quoteIdent(NEW)}`)}${'$body$'};`,
    )
    .join('\n');
  await query(url, renamed);
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, table, COLUMN)).toBe(false);
  for (const name of Object.keys(functions))
    expect(await query(url, `SELECT ${qualify(SCHEMA, `read ${name} %s`)}() AS v`)).toEqual([{ v: 'title 1' }]);
}, 300_000);

test('hostile names: phase 3 names each dependent object created after plan, and nothing of it runs', async () => {
  const { url, run, ok } = await renameAtPhase3();
  // Publication column lists came with PostgreSQL 15.
  const [{ major }] = (await query(url, `SELECT current_setting('server_version_num')::int / 10000 AS major`)) as [
    { major: number },
  ];
  const names = {
    policy: `Pol'; DROP TABLE public.victim; --%s`,
    publication: `Pub "x" $$ %`,
    index: long63(`Idx "a" %s;--`),
    statistics: `Stat\\s %I`,
    sequence: `Seq $$ 'q'`,
    function: `fn'%s"`,
    other: `Other "T"`,
    key: `Fk %s; -- ')`,
    unique: `Uniq %%`,
  };
  await query(
    url,
    `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;
     CREATE POLICY ${quoteIdent(names.policy)} ON ${table} USING (${column} <> 'hidden');
     ${major >= 15 ? `CREATE PUBLICATION ${quoteIdent(names.publication)} FOR TABLE ${table} (id, ${column});` : ''}
     CREATE INDEX ${quoteIdent(names.index)} ON ${table} (team, ${column});
     CREATE STATISTICS ${qualify(SCHEMA, names.statistics)} ON ${column}, team FROM ${table};
     CREATE SEQUENCE ${qualify(SCHEMA, names.sequence)} OWNED BY ${target};
     CREATE FUNCTION ${qualify(SCHEMA, names.function)}() RETURNS bigint LANGUAGE sql
       BEGIN ATOMIC SELECT count(${column}) FROM ${table}; END;
     CREATE UNIQUE INDEX ${quoteIdent(names.unique)} ON ${table} (${column});
     CREATE TABLE ${qualify(SCHEMA, names.other)} (title text CONSTRAINT ${quoteIdent(names.key)} REFERENCES ${table} (${column}));`,
  );
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  const message = refused.stderr;
  const fail = '(DROP COLUMN would fail on it)';
  const drop = '(DROP COLUMN would drop it)';
  for (const expected of [
    `policy ${quoteIdent(names.policy)} on table ${table} ${fail}`,
    ...(major >= 15 ? [`publication of table ${table} in publication ${quoteIdent(names.publication)} ${fail}`] : []),
    `index ${qualify(SCHEMA, names.index)} ${drop}`,
    `index ${qualify(SCHEMA, names.unique)} ${drop}`,
    `statistics object ${qualify(SCHEMA, names.statistics)} ${drop}`,
    `function ${qualify(SCHEMA, names.function)}() ${fail}`,
    `constraint ${quoteIdent(names.key)} on table ${qualify(SCHEMA, names.other)} ${fail}`,
  ])
    expect(message).toContain(expected);
  // The column and the new one quoted in the message and the hints, as the other guards print them (the column's
  // own `; ` and `--` would otherwise read as part of the sentence).
  expect(message).toContain(`cannot drop ${column}: it is used by `);
  expect(message).not.toContain(`cannot drop ${COLUMN}`);
  expect(message).toContain(`rewrite each policy to name ${quoteIdent(NEW)} instead`);
  expect(message).toContain(`build its counterpart on ${quoteIdent(NEW)} (`);
  expect(message).not.toMatch(/ on Fav ''colour''/);
  // An owned sequence is not refused: phase 3 of a rename carries it to the new column (carry-owned-sequences).
  expect(message).not.toContain(`sequence ${qualify(SCHEMA, names.sequence)}`);
  expect(await hasColumn(url, table, COLUMN)).toBe(true);
  await victimIntact(url);

  // Each moved to the new column: phase 3 goes ahead.
  const copy = quoteIdent(NEW);
  await query(
    url,
    `ALTER POLICY ${quoteIdent(names.policy)} ON ${table} USING (${copy} <> 'hidden');
     ${major >= 15 ? `ALTER PUBLICATION ${quoteIdent(names.publication)} SET TABLE ${table} (id, ${copy});` : ''}
     DROP INDEX ${qualify(SCHEMA, names.index)};
     DROP STATISTICS ${qualify(SCHEMA, names.statistics)};
     DROP FUNCTION ${qualify(SCHEMA, names.function)}();
     ALTER TABLE ${qualify(SCHEMA, names.other)} DROP CONSTRAINT ${quoteIdent(names.key)};
     DROP INDEX ${qualify(SCHEMA, names.unique)};`,
  );
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, table, COLUMN)).toBe(false);
  await victimIntact(url);
  // The sequence, with its hostile name, went over to the new column and survived the drop.
  expect(
    await query(
      url,
      `SELECT a.attname FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.objid = $1::regclass AND d.deptype = 'a'`,
      [qualify(SCHEMA, names.sequence)],
    ),
  ).toEqual([{ attname: NEW }]);
}, 300_000);

test('hostile names: phase 1 names an audit trigger function writing the whole row by position, % and all', async () => {
  const audit = qualify(SCHEMA, `Audit %s "log"`);
  const fn = qualify(SCHEMA, `audit %s 'q' $$`);
  const trigger = quoteIdent(`Trg "x"; -- %I`);
  const project = await databaseWithFolder(
    cleanups,
    `${setup}
     CREATE TABLE ${audit} (id bigint, title text, team int);
     CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $body$
     BEGIN
       INSERT INTO ${audit} VALUES (OLD.*);
       RETURN NEW;
     END $body$;
     CREATE TRIGGER ${trigger} AFTER UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${fn}();`,
    'phasectl-hostile-whole-row-',
  );
  const { url, run, ok } = project;
  await ok('init');
  const plan = await ok('plan', 'rename', target, NEW, '--id', 'hostile');
  expect(plan.stdout).toContain(`${fn}(), line 3 of its body: INSERT INTO ${audit} VALUES (OLD.*)`);
  await ok('advance', '--release', '1.0.0');
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stdout + refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    `change hostile cannot add ${quoteIdent(NEW)} to ${table}: function ${fn}() writes the whole row of ${table} into another table by position`,
  );
  expect(await hasColumn(url, table, NEW)).toBe(false);
  await query(url, `UPDATE ${table} SET team = 7 WHERE id = 1`);
  await victimIntact(url);
  // Named columns: phase 1 goes through.
  await query(
    url,
    `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $body$
     BEGIN
       INSERT INTO ${audit} (id, title, team) VALUES (OLD.id, OLD.${column}, OLD.team);
       RETURN NEW;
     END $body$`,
  );
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, table, NEW)).toBe(true);
}, 300_000);

test('hostile names: a writer role that lost EXECUTE on the conversion since plan is refused before phase 1, with GRANTs that run as printed', async () => {
  const role = `App "w"; -- %s \\ é ${Math.random().toString(36).slice(2, 8)}`;
  const fn = qualify(SCHEMA, `to int %s 'x'`);
  const project = await databaseWithFolder(
    cleanups,
    `${setup}
     UPDATE ${table} SET ${column} = id::text;
     CREATE FUNCTION ${fn}(text) RETURNS integer LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT $1::integer $f$;
     REVOKE EXECUTE ON FUNCTION ${fn}(text) FROM PUBLIC;
     CREATE ROLE ${quoteIdent(role)};
     GRANT SELECT, INSERT, UPDATE ON ${table} TO ${quoteIdent(role)};
     GRANT USAGE ON SCHEMA ${quoteIdent(SCHEMA)} TO ${quoteIdent(role)};
     GRANT EXECUTE ON FUNCTION ${fn}(text) TO ${quoteIdent(role)};`,
    'phasectl-hostile-conversion-',
  );
  const { url, run, ok } = project;
  try {
    await ok('init');
    await ok(
      'plan',
      'rename',
      target,
      NEW,
      '--type',
      'integer',
      '--up',
      `${fn}(${column})`,
      '--down',
      `${quoteIdent(NEW)}::text`,
    );
    await ok('advance', '--release', '1.0.0');
    await query(url, `REVOKE EXECUTE ON FUNCTION ${fn}(text) FROM ${quoteIdent(role)}`);
    const refused = await run('migrate', '--quiet');
    expect(refused.code, refused.stdout + refused.stderr).toBe(3);
    expect(refused.stderr).toContain(
      `role ${quoteIdent(role)} writes ${table} but may not execute function ${fn}(text)`,
    );
    const grant = `GRANT EXECUTE ON FUNCTION ${fn}(text) TO ${quoteIdent(role)};`;
    expect(refused.stderr).toContain(`\n    ${grant}\n`);
    expect(await hasColumn(url, table, NEW)).toBe(false);
    await victimIntact(url);
    // The GRANT as printed: phase 1 goes through, and the role's writes convert.
    await query(url, grant);
    await ok('migrate', '--quiet');
    await query(
      url,
      `SET ROLE ${quoteIdent(role)}; INSERT INTO ${table} (id, ${column}) VALUES (100, '7'); RESET ROLE`,
    );
    expect(await query(url, `SELECT ${quoteIdent(NEW)} AS v FROM ${table} WHERE id = 100`)).toEqual([{ v: 7 }]);
  } finally {
    await query(url, `DROP OWNED BY ${quoteIdent(role)}; DROP ROLE ${quoteIdent(role)}`).catch(() => undefined);
  }
}, 300_000);

test('a column of 63 bytes named in a function by a longer identifier (PostgreSQL cuts it to the column) blocks phase 3', async () => {
  const long = `job_title_${'x'.repeat(53)}`;
  const project = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, ${long}_suffix text, note text);
     INSERT INTO public.users SELECT g, 'title ' || g, 'n' FROM generate_series(1, 5) g;
     CREATE FUNCTION public.read_long() RETURNS text LANGUAGE plpgsql AS $$
     BEGIN RETURN (SELECT ${long}_in_code FROM public.users WHERE id = 1); END $$;`,
    'phasectl-hostile-long-',
  );
  const { url, run, ok } = project;
  await ok('init');
  const plan = await ok('plan', 'rename', `users.${long}`, 'job', '--id', 'long');
  expect(plan.stdout).toContain('public.read_long()');
  for (const release of ['1.0.0', '2.0.0']) {
    await ok('advance', '--release', release);
    await ok('migrate', '--quiet');
  }
  await ok('advance', '--release', '3.0.0');
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stdout + refused.stderr).toBe(3);
  expect(refused.stderr).toContain('function public.read_long() still names it');
  expect(await query(url, `SELECT public.read_long() AS v`)).toEqual([{ v: 'title 1' }]);
}, 300_000);

/** The control characters of `text` other than line breaks and tabs. */
const controls = (text: string) =>
  [...text].filter((c) => (c.codePointAt(0)! < 0x20 && c !== '\n' && c !== '\t') || c === '\u007f');

test('names read from the catalog with escape sequences are shown, not sent to the terminal (plan, plan refresh, status)', async () => {
  // Any role that may create a function can name one so: plan lists every function whose body names the column.
  const evil = `evil\u001b[2J\u001b]0;title\u0007`;
  const project = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text, note text);
     CREATE TABLE public.audit (id bigint, job_title text, note text);
     CREATE FUNCTION public.${quoteIdent(evil)}() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN INSERT INTO public.audit VALUES (OLD.*); RETURN NEW; END $$;
     CREATE TRIGGER audit AFTER UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.${quoteIdent(evil)}();`,
    'phasectl-hostile-escapes-',
  );
  const { run, ok } = project;
  await ok('init');
  const plan = await ok('plan', 'rename', 'users.job_title', 'jt', '--id', 'esc');
  expect(plan.stdout).toContain('public."evil\\u{1b}[2J\\u{1b}]0;title\\u{7}"()');
  expect(controls(plan.stdout)).toEqual([]);
  const refresh = await ok('plan', 'refresh', 'esc');
  expect(refresh.stdout).toContain('\\u{1b}');
  expect(controls(refresh.stdout)).toEqual([]);
  await ok('advance', '--release', '1.0.0');
  expect((await run('migrate', '--quiet')).code).toBe(3);
  const status = await ok('status');
  expect(status.stdout).toContain('guard whole-row');
  expect(controls(status.stdout)).toEqual([]);
}, 300_000);

test('hostile names, move: a writer role lacking rights on the partner is refused with GRANTs that run as printed; a policy on the source column stops the unsync', async () => {
  const role = `Wr "i"; -- %s \\ ${Math.random().toString(36).slice(2, 8)}`;
  const source = qualify(SCHEMA, TABLE);
  const target = qualify(SCHEMA, `Prof'iles %I $$`);
  // Quoted in --on, as in the column arguments.
  const join = quoteIdent(`User "Id" %`);
  const project = await databaseWithFolder(
    cleanups,
    `${setup}
     CREATE TABLE ${target} (id bigint PRIMARY KEY, ${join} bigint NOT NULL UNIQUE, bio text);
     INSERT INTO ${target} SELECT g, g, 'bio' FROM generate_series(1, 20) g;
     CREATE ROLE ${quoteIdent(role)};
     GRANT USAGE ON SCHEMA ${quoteIdent(SCHEMA)} TO ${quoteIdent(role)};
     GRANT SELECT, INSERT, UPDATE ON ${source} TO ${quoteIdent(role)};`,
    'phasectl-hostile-move-',
  );
  const { url, run, ok } = project;
  try {
    await ok('init');
    const to = `${target}.${quoteIdent(NEW)}`;
    await ok('plan', 'move', `${source}.${column}`, to, '--on', `id=${join}`, '--id', 'hmove');
    await ok('advance', '--release', '1.0.0');
    const refused = await run('migrate', '--quiet');
    expect(refused.code, refused.stdout + refused.stderr).toBe(3);
    expect(refused.stderr).toContain(
      `role ${quoteIdent(role)} writes ${source} and lacks SELECT (${join}) on ${target}`,
    );
    const grants = refused.stderr
      .split('\n')
      .filter((line) => line.startsWith('    GRANT '))
      .map((line) => line.trim());
    expect(grants).toContain(`GRANT SELECT (${join}) ON ${target} TO ${quoteIdent(role)};`);
    expect(await hasColumn(url, target, NEW)).toBe(false);
    await victimIntact(url);
    for (const grant of grants) await query(url, grant);
    await ok('migrate', '--quiet');
    await query(url, `SET ROLE ${quoteIdent(role)}; UPDATE ${source} SET ${column} = 'moved' WHERE id = 3; RESET ROLE`);
    expect(await query(url, `SELECT ${quoteIdent(NEW)} AS v FROM ${target} WHERE ${join} = 3`)).toEqual([
      { v: 'moved' },
    ]);
    for (const release of ['2.0.0', '3.0.0']) {
      await ok('advance', '--release', release);
      if (release === '2.0.0') await ok('migrate', '--quiet');
    }
    const policy = `Pol "p"; %s`;
    await query(
      url,
      // (The role's writes go first: row-level security on a table it writes through the sync is refused on its own.)
      `REVOKE ALL ON ${source}, ${target} FROM ${quoteIdent(role)};
       REVOKE ALL (${join}, ${quoteIdent(NEW)}) ON ${target} FROM ${quoteIdent(role)};
       ALTER TABLE ${source} ENABLE ROW LEVEL SECURITY;
       CREATE POLICY ${quoteIdent(policy)} ON ${source} USING (${column} <> 'hidden');`,
    );
    const unsync = await run('migrate', '--quiet');
    expect(unsync.code, unsync.stdout + unsync.stderr).toBe(3);
    expect(unsync.stderr).toContain(`policy ${quoteIdent(policy)} on table ${source} (DROP COLUMN would fail on it)`);
    expect(await hasColumn(url, source, COLUMN)).toBe(true);
    await query(
      url,
      `DROP POLICY ${quoteIdent(policy)} ON ${source}; ALTER TABLE ${source} DISABLE ROW LEVEL SECURITY`,
    );
    await ok('migrate', '--quiet');
    expect(await hasColumn(url, source, COLUMN)).toBe(false);
    await victimIntact(url);
  } finally {
    await query(url, `DROP OWNED BY ${quoteIdent(role)}; DROP ROLE ${quoteIdent(role)}`).catch(() => undefined);
  }
}, 300_000);
