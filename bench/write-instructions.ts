/**
 * Section 2b: what each write path of the sync trigger costs the server, in instructions, beside the cheapest copy
 * trigger. Counted by valgrind (cachegrind without cache simulation) around a single-user PostgreSQL backend
 * (`postgres --single`, the embedded package's binaries), so the count is the same on every run whatever else the VM
 * does: section 2's timings swing more than the 3 % this target is about. Each figure is the instructions of a script
 * with the write minus the same script without it, on a copy of one prepared cluster, divided by the rows written.
 *
 * - bulk: one statement over BULK rows (what a batch job sends);
 * - single: SINGLE single-row statements (what applications send: each pays the triggers' per-statement costs).
 *
 * Variants: no trigger; the floor (`BEFORE INSERT OR UPDATE OF job_title, favourite_color`, plpgsql, one assignment,
 * as in section 2); phasectl's sync function and triggers exactly as generated (db/functions, db/triggers).
 * Skipped, with the reason, where valgrind is missing.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chown, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { migrate } from '../src/commands/migrate.js';
import { embeddedBinaries } from '../src/db/embedded-cluster.js';
import { splitStatements } from '../src/sql/split-statements.js';
import { CHANGE_ID, TABLE, createAccounts, renameProject } from './fixture.js';
import { checked, info, type BenchRow } from './report.js';
import { createBenchDatabase, withClient } from './server.js';

const run = promisify(execFile);
const ROWS = 100_000;
const BULK = 20_000;
const SINGLE = 300;
const SECTION = '2b. instructions per write (valgrind, single-user backend; deterministic)';

interface Path {
  name: string;
  /** The sync function in place: 1, or 2 for the new release's writes (made from phase 2 on). */
  syncFunction: 1 | 2;
  floorCopy: string;
  bulk: string;
  single: (i: number) => string;
  /** Reported, not checked against the target: a write of the release that is not the phase's own, or the backfill's. */
  informative?: string;
}

const toNew = 'NEW.favourite_color := NEW.job_title';
const toOld = 'NEW.job_title := NEW.favourite_color';
/** Deterministic pseudo-random ids, the same for every variant. */
const id = (i: number) => 1 + ((i * 7919) % ROWS);

const PATHS: Path[] = [
  {
    name: 'UPDATE of the renamed column',
    syncFunction: 1,
    floorCopy: toNew,
    bulk: `UPDATE public.${TABLE} SET job_title = job_title || '.' WHERE id <= ${BULK}`,
    single: (i) => `UPDATE public.${TABLE} SET job_title = 'title ${i}' WHERE id = ${id(i)}`,
  },
  {
    name: 'UPDATE of the new column',
    syncFunction: 2,
    floorCopy: toOld,
    bulk: `UPDATE public.${TABLE} SET favourite_color = favourite_color || '.' WHERE id <= ${BULK}`,
    single: (i) => `UPDATE public.${TABLE} SET favourite_color = 'colour ${i}' WHERE id = ${id(i)}`,
  },
  {
    name: 'UPDATE of an unrelated column',
    syncFunction: 1,
    floorCopy: toNew,
    bulk: `UPDATE public.${TABLE} SET n = n + 1 WHERE id <= ${BULK}`,
    single: (i) => `UPDATE public.${TABLE} SET n = ${i} WHERE id = ${id(i)}`,
  },
  {
    name: 'INSERT (new release: new column)',
    syncFunction: 2,
    floorCopy: toOld,
    bulk: `INSERT INTO public.${TABLE} (id, favourite_color, email) SELECT -g, 'colour ' || g, 'b' || g FROM generate_series(1, ${BULK}) AS g`,
    single: (i) => `INSERT INTO public.${TABLE} (id, favourite_color, email) VALUES (${-1 - i}, 'colour ${i}', 'x')`,
  },
  {
    name: 'INSERT (old release: old column only)',
    syncFunction: 1,
    floorCopy: toNew,
    bulk: `INSERT INTO public.${TABLE} (id, job_title, email) SELECT -g, 'title ' || g, 'b' || g FROM generate_series(1, ${BULK}) AS g`,
    single: (i) => `INSERT INTO public.${TABLE} (id, job_title, email) VALUES (${-1 - i}, 'title ${i}', 'x')`,
  },
  {
    name: "the backfill's write (new column := old)",
    syncFunction: 1,
    floorCopy: toNew,
    bulk: `UPDATE public.${TABLE} AS t SET favourite_color = t.job_title WHERE id <= ${BULK}`,
    single: (i) => `UPDATE public.${TABLE} AS t SET favourite_color = t.job_title WHERE id = ${id(i)}`,
    informative: "the other column's trigger: its WHEN clause keeps the write out of plpgsql (the floor's enters it)",
  },
  {
    name: 'UPDATE of the new column in phase 1',
    syncFunction: 1,
    floorCopy: toOld,
    bulk: `UPDATE public.${TABLE} SET favourite_color = favourite_color || '.' WHERE id <= ${BULK}`,
    single: (i) => `UPDATE public.${TABLE} SET favourite_color = 'colour ${i}' WHERE id = ${id(i)}`,
    informative: "the other column's trigger, with a WHEN clause: the new release writes from phase 2 on",
  },
  {
    name: 'UPDATE of the renamed column in phase 2',
    syncFunction: 2,
    floorCopy: toNew,
    bulk: `UPDATE public.${TABLE} SET job_title = job_title || '.' WHERE id <= ${BULK}`,
    single: (i) => `UPDATE public.${TABLE} SET job_title = 'title ${i}' WHERE id = ${id(i)}`,
    informative: "the other column's trigger, with a WHEN clause: the old release, during phase 2's rollout",
  },
];

/** One script line per statement for `postgres --single -j`: a statement ends at a semicolon before a blank line. */
function script(statements: readonly string[]): string {
  return statements.map((sql) => `${sql.replace(/;\s*$/, '').replace(/\n\s*\n/g, '\n')};\n\n`).join('');
}

export async function benchWriteInstructions(serverUrl: string): Promise<BenchRow[]> {
  const valgrind = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  if (valgrind.status !== 0)
    return [
      info({ section: SECTION, metric: 'skipped', value: NaN, unit: '', note: 'valgrind is not installed here' }),
    ];

  // The generated SQL, from a project planned against a table of the same shape.
  const database = await createBenchDatabase(serverUrl, 'instructions');
  const project = await withClient(database.url, (client) => createAccounts(client, 1000)).then(() =>
    renameProject(database.url),
  );
  const work = await mkdtemp(join(tmpdir(), 'phasectl-bench-instructions-'));
  try {
    await migrate({ databaseUrl: database.url, projectDir: project.dir, toRelease: '1.0.0' });
    const generated = async (path: string) => splitStatements(await readFile(join(project.dir, 'db', path), 'utf8'));
    const triggers = await generated(join('triggers', `${CHANGE_ID}.sql`));
    const functions = {
      1: await generated(join('functions', `${CHANGE_ID}_v01.sql`)),
      2: await generated(join('functions', `${CHANGE_ID}_v02.sql`)),
    };

    const bin = join(await embeddedBinaries(), 'bin');
    const root = process.getuid?.() === 0;
    const user = root
      ? {
          uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
          gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
        }
      : undefined;
    await chown(work, user?.uid ?? process.getuid!(), user?.gid ?? process.getgid!());
    const exec = (command: string, args: string[], input?: string) =>
      spawnSync(command, args, { input, encoding: 'utf8', maxBuffer: 1 << 28, ...(user ?? {}) });
    const single = (dir: string, statements: readonly string[], counted: boolean): number => {
      const postgres = [join(bin, 'postgres'), '--single', '-j', '-D', dir, '-F', '-c', 'autovacuum=off', 'postgres'];
      const result = counted
        ? exec(
            'valgrind',
            ['--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null', ...postgres],
            script(statements),
          )
        : exec(postgres[0]!, postgres.slice(1), script(statements));
      const errors = `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => /\bERROR\b/.test(line));
      if (errors.length > 0) throw new Error(`postgres --single: ${errors.join('; ')}`);
      const refs = /I\s+refs:\s+([\d,]+)/.exec(result.stderr)?.[1];
      return counted ? Number(refs?.replace(/,/g, '')) : 0;
    };

    const prepared = join(work, 'prepared');
    const initdb = exec(join(bin, 'initdb'), [
      '-D',
      prepared,
      '-U',
      'postgres',
      '--no-sync',
      '-E',
      'UTF8',
      '--no-locale',
    ]);
    if (initdb.status !== 0) throw new Error(`initdb: ${initdb.stderr}`);
    single(
      prepared,
      [
        'CREATE SCHEMA phasectl',
        `CREATE TABLE public.${TABLE} (id bigint PRIMARY KEY, job_title text NOT NULL DEFAULT 'unknown', email text NOT NULL, n int NOT NULL DEFAULT 0, created_at timestamptz NOT NULL DEFAULT now(), favourite_color text)`,
        `INSERT INTO public.${TABLE} (id, job_title, email, n, favourite_color) SELECT g, 'title ' || (g % 5000), 'user' || g || '@example.com', g % 100, 'title ' || (g % 5000) FROM generate_series(1, ${ROWS}) AS g`,
        `VACUUM ANALYZE public.${TABLE}`,
        'CHECKPOINT',
      ],
      false,
    );

    const install = (variant: 'none' | 'floor' | 'phasectl', path: Path): string[] => {
      if (variant === 'none') return [];
      if (variant === 'floor')
        return [
          `CREATE FUNCTION public.bench_copy_floor() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${path.floorCopy}; RETURN NEW; END $$`,
          `CREATE TRIGGER zz_floor BEFORE INSERT OR UPDATE OF job_title, favourite_color ON public.${TABLE} FOR EACH ROW EXECUTE FUNCTION public.bench_copy_floor()`,
        ];
      // As phase 1, then (for phase 2's function) as the switch: its file also swaps the update triggers' columns.
      return [...functions[1], ...triggers, ...(path.syncFunction === 2 ? functions[2] : [])];
    };
    /** Instructions of `writes` after `variant` is installed, on a fresh copy of the prepared cluster. */
    const measure = async (variant: 'none' | 'floor' | 'phasectl', path: Path, writes: string[]): Promise<number> => {
      const counted = async (extra: string[]) => {
        const dir = join(work, 'run');
        await rm(dir, { recursive: true, force: true });
        await cp(prepared, dir, { recursive: true });
        if (user) await run('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
        return single(dir, [...install(variant, path), 'SELECT 1', 'BEGIN', ...extra, 'ROLLBACK'], true);
      };
      return (await counted(writes)) - (await counted([]));
    };

    const rows: BenchRow[] = [];
    for (const path of PATHS) {
      for (const [shape, writes, count] of [
        ['bulk', [path.bulk], BULK],
        ['single-row', Array.from({ length: SINGLE }, (_, i) => path.single(i)), SINGLE],
      ] as const) {
        const per = async (variant: 'none' | 'floor' | 'phasectl') =>
          (await measure(variant, path, [...writes])) / count;
        const none = await per('none');
        const floor = await per('floor');
        const phasectl = await per('phasectl');
        const row = {
          section: SECTION,
          metric: `${path.name}, ${shape === 'bulk' ? `one statement, ${BULK.toLocaleString('en-US')} rows` : `${SINGLE} single-row statements`}`,
          value: phasectl,
          unit: 'instr/row',
          baseline: floor,
          baselineLabel: 'floor',
          ratio: floor / phasectl,
          note: `floor / phasectl (1.00 = as cheap); no trigger ${Math.round(none).toLocaleString('en-US')} instr/row; sync function v0${path.syncFunction}${path.informative ? `; ${path.informative}` : ''}`,
        };
        rows.push(path.informative ? info(row) : checked({ ...row, target: '≥ 0.97' }, floor / phasectl >= 0.97));
      }
    }
    return rows;
  } finally {
    await rm(work, { recursive: true, force: true });
    await project.remove();
    await database.drop();
  }
}
