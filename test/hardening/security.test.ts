import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runBackfill } from '../../src/backfill/engine.js';
import { phaseSteps } from '../../src/operations/index.js';
import { defaultTemplatesDir } from '../../src/render/environment.js';
import { applySteps } from '../support/apply-sql.js';
import { phasectl as runPhasectl } from '../support/cli.js';
import { createTestDatabase } from '../support/database.js';
import { generatedProject } from '../support/fixtures-generated.js';
import { plannedRename } from '../support/hardening-rename.js';

/**
 * Security: the sync function and the backfill do not call look-alike functions or operators planted
 * earlier in the search_path; every name a template interpolates goes through a quoting helper; the
 * database password never reaches the output, not even with --debug.
 */

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let admin: pg.Client;
const cleanups: (() => Promise<void>)[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await admin?.end();
  await db?.drop();
});

describe('search_path hijacking', () => {
  test('the sync function and the backfill ignore a hostile current_setting() and = operator in public', async () => {
    await admin.query(`
      CREATE TABLE public.users (id int PRIMARY KEY, job_title text);
      INSERT INTO public.users SELECT g, 'title ' || g FROM generate_series(1, 400) g;`);
    const change = await plannedRename(
      db.url,
      { schema: 'public', table: 'users', column: 'job_title' },
      'favourite_color',
      'hijack',
    );
    const phase1 = phaseSteps(change, 1).up;
    await applySteps(
      admin,
      phase1.filter((step) => step.name === 'expand'),
    );

    // The trap: a look-alike current_setting that claims every session is the backfill (the sync would then do
    // nothing), and an = on text that says every pair is equal (IS DISTINCT FROM would then never copy).
    await admin.query(`
      CREATE TABLE public.hijack_calls (what text);
      GRANT INSERT ON public.hijack_calls TO PUBLIC;
      CREATE FUNCTION public.current_setting(text, boolean) RETURNS text LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO public.hijack_calls VALUES ('current_setting'); RETURN 'on'; END $$;
      CREATE FUNCTION public.evil_eq(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO public.hijack_calls VALUES ('='); RETURN true; END $$;
      CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.evil_eq);`);

    const app = new pg.Client({ connectionString: db.url });
    await app.connect();
    cleanups.push(() => app.end());
    await app.query('SET search_path = public, pg_catalog');
    // The trap is live for plain SQL in this session...
    expect(
      (await app.query(`SELECT 'a'::text = 'b'::text AS equal, current_setting('phasectl.backfill', true) AS flag`))
        .rows,
    ).toEqual([{ equal: true, flag: 'on' }]);
    await admin.query('TRUNCATE public.hijack_calls');

    // ...but not for the sync function, which pins search_path = pg_catalog, pg_temp.
    await app.query(`UPDATE public.users SET job_title = 'changed by old code' WHERE id = 1`);
    await app.query(`INSERT INTO public.users (id, favourite_color) VALUES (1001, 'inserted by new code')`);
    expect(
      (await admin.query(`SELECT id, job_title, favourite_color FROM public.users WHERE id IN (1, 1001) ORDER BY id`))
        .rows,
    ).toEqual([
      { id: 1, job_title: 'changed by old code', favourite_color: 'changed by old code' },
      { id: 1001, job_title: 'inserted by new code', favourite_color: 'inserted by new code' },
    ]);
    expect((await admin.query('SELECT what FROM public.hijack_calls')).rows).toEqual([]);

    // The batched backfill, run from the hijacked session, runs its own queries with search_path = pg_catalog, pg_temp.
    const plan = phase1.find((step) => step.action === 'backfill')!.backfill!;
    await runBackfill(app, plan);
    expect(
      (
        await admin.query(
          `SELECT count(*)::int AS n FROM public.users WHERE favourite_color IS DISTINCT FROM job_title`,
        )
      ).rows,
    ).toEqual([{ n: 0 }]);
    expect((await admin.query('SELECT what FROM public.hijack_calls')).rows).toEqual([]);
    expect((await app.query('SHOW search_path')).rows).toEqual([{ search_path: 'public, pg_catalog' }]);
  });
});

describe('templates quote every name', () => {
  /**
   * Raw (unquoted) interpolations and why each is safe. Anything else must go through ident / idents /
   * qualify / literal. A new raw variable makes this test fail until it is reviewed and listed here.
   */
  const reviewedRaw: Record<string, string> = {
    changeId: 'validated against [a-z0-9][a-z0-9-]* (schema and rename.ts)',
    version: "'01' or '02', set by rename.ts",
    authority: "'old' or 'new', set by rename.ts",
    n: 'a number',
    index: 'a number',
    batchSize: 'a number',
    '@root.batchSize': 'a number',
    'record.phase': 'a number',
    type: 'key column type: SQL text read from format_type by plan',
    newType: 'column type: SQL text from format_type (+ quoted collation)',
    oldType: 'same',
    keyColumns: 'built by rename.ts from quoteIdent',
    source: 'SQL expression built from quoteIdent and the reviewed up/down expression',
    sourceLine: 'the same on one line, inside a comment',
    newFromOld: 'same as source',
    oldFromNew: 'same as source',
    definition: 'pg_get_constraintdef text rewritten with quoteIdent',
    on: 'pg_get_indexdef text rewritten with quoteIdent',
    method: "the part of `on` after the table (`USING btree (…) …`), cut from it by definition-rewrite.ts's parser",
    '@root.statementRowsColumn': 'the constant phasectl_statement (src/operations/partitioned-indexes.ts)',
    defaultSql: 'pg_get_expr text',
    converted:
      'defaultSql (pg_get_expr text, through the reviewed up expression for a type change), handed to copy-column-default',
    oldDefaultSql: 'pg_get_expr text',
    newDefaultSql: 'oldDefaultSql (pg_get_expr text) through the reviewed up expression, as `converted` is',
    syncFunction: 'rendered by the sync-function template',
    trigger: 'rendered by the trigger template',
    conversionCheck:
      'rendered by src/render/conversion-check.ts: labels and view SQL through quoteLiteral, names through qualify',
    comment: 'one line, names checked for control characters by rename.ts, inside a -- comment',
    unique: 'boolean used by #if only',
    guardCondition: 'built by column-mention.ts: `p.prosrc ~* <pattern>` with the pattern passed through quoteLiteral',
    // The move kind (src/operations/move.ts).
    description:
      'one line built by move.ts from column names that refuseControlCharacters checked, inside a -- comment',
    batchStatement: 'built by move.ts from quoteIdent/qualify',
    countStatement: 'same',
    sourceFunction: 'rendered by the move sync-function template',
    targetFunction: 'same',
    sourceTrigger: 'rendered by the move trigger template',
    targetTrigger: 'same',
    // Identity comparisons (src/operations/identity.ts) over quoteIdent'ed columns and the reviewed up/down expressions.
    differs: 'built by rename.ts with identity.ts from quoteIdent and the reviewed up expression',
    toUnchanged: 'same',
    fromChanged: 'same',
    fromUnchanged: 'same',
    authorityChanged: 'same',
    otherUnchanged: 'same',
    toDiffersFromOld: 'same',
    newDiffers: 'same',
    eitherChanged: 'same',
    notCopied: 'built by rename.ts: IS NULL / IS NOT NULL tests of NEW.<quoteIdent column>',
    keyMovedNotCopied: 'built by rename.ts with identity.ts from quoteIdent (the key columns) and notCopied',
    copyValue: 'newFromOld or oldFromNew (the reviewed up/down expression over NEW.<quoteIdent column>)',
    nothingWritten: 'built by move.ts with identity.ts from quoteIdent',
    somethingWritten: 'same',
    columnWritten: 'same',
    differsFromPartner: 'same',
    '@root.partnerDiffers': 'same',
    writerAccess: 'built by move-writer-access.ts: names through quoteLiteral(qualify(…)) and quoteLiteral only',
    'rowSecurity.query': 'same (moveRowSecurityGuard: moveWriterAccessSql filtered on row_security)',
    mayWriteThrough: 'built by move.ts: IS NOT NULL tests of NEW.<quoteIdent column>',
    'columnDependents.query':
      'built by column-dependents-guard.ts: names through quoteLiteral(qualify(…)) and quoteLiteral only (fixed SQL otherwise)',
    sourceAfterInsertTrigger: 'rendered by the move ensure-after-insert-trigger template',
    targetAfterInsertTrigger: 'same',
    keyOperatorPath: 'built by key-operators.ts; key types passed through quoteLiteral',
    // Dependents (src/dependents/functions.ts).
    userFunctions: 'fixed SQL text built by functions.ts from constants only',
    functionMention: 'built by column-mention.ts like guardCondition',
    // Views and generated columns (src/dependents/views.ts).
    this: 'a view option: `name = <quoteLiteral(value)>`, the name checked against [a-z_]+ by views.ts',
    query: "pg_get_viewdef text re-pointed by view-rewrite.ts, proven by PostgreSQL's parser to be one SELECT",
    expression: 'pg_get_expr text of a generated column, rewritten with the parser (quoteIdent for the new column)',
    viewFingerprintSql: 'a constant of src/dependents/view-fingerprint.ts',
  };
  // untrustedCodeCheck quotes its arguments itself (quoteLiteral, qualify: src/render/untrusted-code-check.ts);
  // untrustedCodeFunction takes none; rulesNamingColumn, otherUpdateTriggers and inheritanceChildren quote their arguments
  // (src/render/environment.ts).
  const helpers =
    /^(ident|idents|qualify|literal|untrustedCodeCheck|untrustedCodeFunction|rulesNamingColumn|otherUpdateTriggers|inheritanceChildren|#dollarQuote|\/dollarQuote|#if|\/if|#unless|\/unless|#each|\/each|else|>|!)(\s|$)/;

  /** The folders reviewed here: every change kind and the shared partials. */
  const reviewedFolders = ['rename', 'shared', 'move'];

  function templateFiles(dir: string = defaultTemplatesDir): string[] {
    if (dir === defaultTemplatesDir) return reviewedFolders.flatMap((folder) => templateFiles(join(dir, folder)));
    return readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? templateFiles(path) : path.endsWith('.hbs') ? [path] : [];
    });
  }

  test('every {{…}} is a quoting helper, a block, a partial or a reviewed raw value', () => {
    const files = templateFiles(defaultTemplatesDir);
    expect(files.length).toBeGreaterThan(10);
    const unreviewed: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      text.split('\n').forEach((line, index) => {
        for (const match of line.matchAll(/\{\{~?\s*([^}]*?)\s*~?\}\}/g)) {
          const expression = match[1]!;
          if (
            helpers.test(expression) ||
            expression === '@first' ||
            expression.startsWith('#unless @first') ||
            expression === 'else'
          )
            continue;
          if (!(expression in reviewedRaw))
            unreviewed.push(`${relative(defaultTemplatesDir, file)}:${index + 1}: {{${expression}}}`);
        }
        // Triple-stash and raw blocks would bypass noEscape's reviewed path entirely.
        if (line.includes('{{{')) unreviewed.push(`${relative(defaultTemplatesDir, file)}:${index + 1}: triple-stash`);
      });
    }
    expect(unreviewed).toEqual([]);
  });

  test('names inside a --comment are never a raw variable that could hold a line break', () => {
    for (const file of templateFiles(defaultTemplatesDir)) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line) => {
          const comment = line.indexOf('--');
          if (comment < 0) return;
          for (const match of line.slice(comment).matchAll(/\{\{\s*([a-zA-Z.@]+)\s*\}\}/g)) {
            expect(
              [
                'changeId',
                'version',
                'authority',
                'comment',
                'description',
                'batchSize',
                'sourceLine',
                'record.phase',
                'n',
                '@root.batchSize',
              ],
              line,
            ).toContain(match[1]);
          }
        });
    }
  });
});

describe('passwords never printed', () => {
  /** The built CLI (`node bin/phasectl.js`); stdout and stderr together. */
  async function phasectl(args: string[]): Promise<{ code: number | null; output: string }> {
    const result = await runPhasectl(args, { env: { DATABASE_URL: '', PHASECTL_DEBUG: '1' } });
    return { code: result.code, output: result.stdout + result.stderr };
  }

  test('migrate, status and verify with a wrong password, with --debug: no password in stdout or stderr', async () => {
    const other = await createTestDatabase();
    cleanups.push(other.drop);
    const project = await generatedProject(other.url, { rows: 10, releases: ['1.0.0'] });
    cleanups.push(project.remove);
    const secret = 'Sup3r-Secret_pw';
    const bad = new URL(other.url);
    bad.username = 'postgres';
    bad.password = secret;
    for (const args of [
      ['migrate', '--project', project.dir],
      ['status', '--project', project.dir],
      ['verify', 'users-job-title', '--project', project.dir],
    ]) {
      const result = await phasectl([...args, '--database-url', bad.toString(), '--debug']);
      expect(result.code, result.output).toBe(3);
      expect(result.output).not.toContain(secret);
      expect(result.output).not.toContain(encodeURIComponent(secret));
      expect(result.output).toMatch(/password|authentication/i);
    }
    // A URL whose password the server accepts is not printed either, even when the run fails later (unknown change).
    const good = new URL(other.url);
    if (good.password) {
      const result = await phasectl([
        'verify',
        'no-such-change',
        '--project',
        project.dir,
        '--database-url',
        good.toString(),
        '--debug',
      ]);
      expect(result.output).not.toContain(`:${good.password}@`);
    }
  }, 60_000);

  test('a password given as a query parameter (?password=, ?sslpassword=) is not printed either', async () => {
    const other = await createTestDatabase();
    cleanups.push(other.drop);
    const project = await generatedProject(other.url, { rows: 10, releases: ['1.0.0'] });
    cleanups.push(project.remove);
    const secret = 'Qu3ry-Secret_pw';
    const keySecret = 'K3y-Secret_pw';
    const inQuery = new URL(other.url);
    inQuery.username = 'postgres';
    inQuery.password = '';
    inQuery.searchParams.set('password', secret);
    inQuery.searchParams.set('sslpassword', keySecret);
    // A typo in the scheme is refused before any connection, quoting the URL (up to 80 characters): exit 2, the
    // secrets hidden.
    const typo = `postgress://u@h/d?password=${secret}&sslpassword=${keySecret}`;
    const refused = await phasectl(['status', '--project', project.dir, '--database-url', typo, '--debug']);
    expect(refused.code, refused.output).toBe(2);
    expect(refused.output).toContain('is not a PostgreSQL URL');
    for (const args of [
      ['status', '--project', project.dir, '--database-url', typo, '--json'],
      ['migrate', '--project', project.dir, '--database-url', inQuery.toString(), '--debug'],
      ['migrate', '--project', project.dir, '--database-url', inQuery.toString(), '--json'],
    ]) {
      const result = await phasectl(args);
      expect(result.code, result.output).not.toBe(0);
      expect(result.output).not.toContain(secret);
      expect(result.output).not.toContain(keySecret);
    }
    expect(refused.output).not.toContain(secret);
    expect(refused.output).not.toContain(keySecret);
  }, 60_000);
});
