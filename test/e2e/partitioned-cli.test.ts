import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { describe, expect, test } from 'vitest';
import { client, query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder } from '../support/test-project.js';

/**
 * Issue 13 item 1 (DDL side): a rename on a declaratively partitioned table goes through all three phases. The
 * column is added on the parent, the sync triggers are created on the parent (PostgreSQL clones them to every
 * partition), indexes are built per partition CONCURRENTLY and attached to an `ON ONLY` parent index. Each kind of
 * hierarchy runs the whole lifecycle with old- and new-release writers, the down of every phase, a partition created
 * in phase 1, one attached and one detached in phase 2. Runs on every supported major (the rules differ by major).
 */
const cleanups = cleanupsAfterAll();

interface Hierarchy {
  /** The CREATE statements of the table and its partitions, and some rows. */
  setup: string;
  /** Columns and values of a new row (besides the renamed column), for the writers. */
  row(id: number): { columns: string[]; values: unknown[] };
  /** The indexes on `title` whose copies on `name` phase 1 builds. */
  copies: string[];
  /** A partition to create while phase 1 is in flight, then detach in phase 2 (none for hash). */
  createInPhase1?: string;
  detachInPhase2?: { table: string; detach: string };
  /** A table made elsewhere and attached in phase 2: `make` creates it (without the new column), `attach` attaches it. */
  attachInPhase2?: { make: string; table: string; attach: string; constraints: string };
}

const months = ['2024-01-15', '2024-02-15', '2031-06-01'];

const hierarchies: Record<string, Hierarchy> = {
  'range with a default partition': {
    setup: `
      CREATE TABLE public.events (id bigint NOT NULL, created_at date NOT NULL, title text NOT NULL DEFAULT 'untitled',
        PRIMARY KEY (id, created_at), CONSTRAINT events_title_length CHECK (length(title) < 200))
        PARTITION BY RANGE (created_at);
      CREATE TABLE public.events_2024_01 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
      CREATE TABLE public.events_2024_02 PARTITION OF public.events FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
      CREATE TABLE public.events_default PARTITION OF public.events DEFAULT;
      CREATE INDEX events_title_idx ON public.events (title);
      CREATE UNIQUE INDEX events_title_created_at_key ON public.events (title, created_at);
      INSERT INTO public.events (id, created_at, title)
        SELECT g, (ARRAY['2024-01-10', '2024-02-10', '2030-01-01']::date[])[g % 3 + 1], 'event ' || g FROM generate_series(1, 300) g;`,
    row: (id) => ({ columns: ['id', 'created_at'], values: [id, months[id % months.length]] }),
    copies: ['events_name_idx', 'events_name_created_at_key'],
    createInPhase1: `CREATE TABLE public.events_2024_03 PARTITION OF public.events FOR VALUES FROM ('2024-03-01') TO ('2024-04-01')`,
    detachInPhase2: {
      table: 'public.events_2024_03',
      detach: 'ALTER TABLE public.events DETACH PARTITION public.events_2024_03',
    },
    attachInPhase2: {
      make: `CREATE TABLE public.events_2024_04 (id bigint NOT NULL, created_at date NOT NULL, title text NOT NULL DEFAULT 'untitled',
               CONSTRAINT events_title_length CHECK (length(title) < 200));
             INSERT INTO public.events_2024_04 SELECT g, '2024-04-02', 'april ' || g FROM generate_series(5001, 5020) g;`,
      table: 'public.events_2024_04',
      attach: `ALTER TABLE public.events ATTACH PARTITION public.events_2024_04 FOR VALUES FROM ('2024-04-01') TO ('2024-05-01')`,
      constraints: `ALTER TABLE public.events_2024_04 ADD CONSTRAINT events_name_length CHECK (length(name) < 200),
                      ADD CONSTRAINT events_name_not_null_check CHECK (name IS NOT NULL)`,
    },
  },
  'two levels: list, then range': {
    setup: `
      CREATE TABLE public.events (id bigint NOT NULL, region text NOT NULL, created_at date NOT NULL, title text NOT NULL,
        PRIMARY KEY (id, region, created_at)) PARTITION BY LIST (region);
      CREATE TABLE public.events_eu PARTITION OF public.events FOR VALUES IN ('eu') PARTITION BY RANGE (created_at);
      CREATE TABLE public.events_eu_2024_01 PARTITION OF public.events_eu FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
      CREATE TABLE public.events_eu_rest PARTITION OF public.events_eu DEFAULT;
      CREATE TABLE public.events_us PARTITION OF public.events FOR VALUES IN ('us');
      CREATE TABLE public.events_other PARTITION OF public.events DEFAULT;
      CREATE INDEX events_title_idx ON public.events (title);
      INSERT INTO public.events (id, region, created_at, title)
        SELECT g, (ARRAY['eu', 'us', 'xx'])[g % 3 + 1], (ARRAY['2024-01-10', '2025-05-05']::date[])[g % 2 + 1], 'event ' || g
        FROM generate_series(1, 300) g;`,
    row: (id) => ({
      columns: ['id', 'region', 'created_at'],
      // Never February 2024: events_eu_2024_02 is created in phase 1 (the default partition must not hold its rows).
      values: [id, ['eu', 'us', 'xx'][id % 3], ['2024-01-15', '2031-06-01'][id % 2]],
    }),
    copies: ['events_name_idx'],
    createInPhase1: `CREATE TABLE public.events_eu_2024_02 PARTITION OF public.events_eu FOR VALUES FROM ('2024-02-01') TO ('2024-03-01')`,
    detachInPhase2: {
      table: 'public.events_eu_2024_02',
      detach: 'ALTER TABLE public.events_eu DETACH PARTITION public.events_eu_2024_02',
    },
  },
  hash: {
    setup: `
      CREATE TABLE public.events (id bigint PRIMARY KEY, title text) PARTITION BY HASH (id);
      CREATE TABLE public.events_h0 PARTITION OF public.events FOR VALUES WITH (MODULUS 3, REMAINDER 0);
      CREATE TABLE public.events_h1 PARTITION OF public.events FOR VALUES WITH (MODULUS 3, REMAINDER 1);
      CREATE TABLE public.events_h2 PARTITION OF public.events FOR VALUES WITH (MODULUS 3, REMAINDER 2);
      CREATE UNIQUE INDEX events_title_id_key ON public.events (title, id);
      INSERT INTO public.events SELECT g, 'event ' || g FROM generate_series(1, 300) g;`,
    row: (id) => ({ columns: ['id'], values: [id] }),
    copies: ['events_name_id_key'],
  },
};

/** Writers of the old release (they write `title`) and of the new one (`name`), each on rows of its own. */
class Writers {
  private readonly expected = new Map<number, string>();
  private nextId = 100_000;
  private running = false;
  private loops: Promise<void>[] = [];
  readonly errors: string[] = [];

  constructor(
    private readonly url: string,
    private readonly hierarchy: Hierarchy,
  ) {}

  /** Runs `work` while the given writers insert and update rows. */
  async during<T>(kinds: Array<'title' | 'name'>, work: () => Promise<T>): Promise<T> {
    this.running = true;
    this.loops = kinds.map((column, index) => this.loop(column, index));
    try {
      return await work();
    } finally {
      this.running = false;
      await Promise.all(this.loops);
    }
  }

  private async loop(column: 'title' | 'name', writer: number): Promise<void> {
    const c: pg.Client = await client(this.url);
    const own: number[] = [];
    try {
      for (let i = 0; this.running || i < 3; i++) {
        const id = this.nextId++;
        const value = `${column} ${writer} ${id}`;
        const { columns, values } = this.hierarchy.row(id);
        const placeholders = [...columns, column].map((_, at) => `$${at + 1}`).join(', ');
        try {
          await c.query(`INSERT INTO public.events (${[...columns, column].join(', ')}) VALUES (${placeholders})`, [
            ...values,
            value,
          ]);
          this.expected.set(id, value);
          own.push(id);
          const target = own[Math.floor(own.length / 2)]!;
          const updated = `${column} ${writer} ${target} updated ${i}`;
          await c.query(`UPDATE public.events SET ${column} = $2 WHERE id = $1`, [target, updated]);
          this.expected.set(target, updated);
        } catch (error) {
          this.errors.push(`${column}: ${(error as Error).message}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } finally {
      await c.end();
    }
  }

  /** Every write is in `column` (after phase 3 only `name` is left). */
  async lost(column: 'title' | 'name'): Promise<string[]> {
    const rows = await query<{ id: string; value: string | null }>(
      this.url,
      `SELECT id::text, ${column} AS value FROM public.events WHERE id >= 100000`,
    );
    const found = new Map(rows.map((row) => [Number(row.id), row.value]));
    return [...this.expected]
      .filter(([id, value]) => found.get(id) !== value)
      .map(([id, value]) => `${id}: expected ${value}, found ${found.get(id)}`);
  }
}

/**
 * The catalog of the given relations (columns, index definitions without their names, constraints, triggers), to
 * show that a down restores what its up changed. Index names are left out: a partition's index made by phasectl is
 * named after the partition and the parent's index, one made by PostgreSQL is not.
 */
async function catalog(url: string, relations: string[]) {
  return query(
    url,
    `SELECT r.rel,
       (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
          || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), ''), ', ' ORDER BY a.attname)
        FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = r.rel::regclass AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
       (SELECT string_agg(x.def, '; ' ORDER BY x.def) FROM (
          SELECT regexp_replace(pg_get_indexdef(i.indexrelid), 'INDEX \\S+ ON', 'INDEX ON') || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID' END AS def
          FROM pg_index i WHERE i.indrelid = r.rel::regclass) x) AS indexes,
       (SELECT string_agg(c.conname || ' ' || pg_get_constraintdef(c.oid), '; ' ORDER BY c.conname)
        FROM pg_constraint c WHERE c.conrelid = r.rel::regclass AND c.contype <> 'n') AS constraints,
       (SELECT string_agg(t.tgname, ', ' ORDER BY t.tgname) FROM pg_trigger t WHERE t.tgrelid = r.rel::regclass AND NOT t.tgisinternal) AS triggers
     FROM unnest($1::text[]) AS r(rel) ORDER BY r.rel`,
    [relations],
  );
}

async function treeOf(url: string): Promise<string[]> {
  const rows = await query<{ rel: string }>(
    url,
    `SELECT relid::regclass::text AS rel FROM pg_partition_tree('public.events') ORDER BY 1`,
  );
  return rows.map((row) => row.rel);
}

/** After phase 1: every partition has `name`, every leaf the three sync triggers (insert, update, update of the other column), every index valid and attached. */
async function expectPhaseOneEverywhere(url: string, copies: string[]): Promise<void> {
  const tree = await treeOf(url);
  expect(
    await query(
      url,
      `SELECT p.relid::regclass::text AS rel,
         EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = p.relid AND a.attname = 'name' AND NOT a.attisdropped) AS has_name,
         (SELECT count(*)::int FROM pg_trigger t WHERE t.tgrelid = p.relid AND t.tgname ~ '^zz+_phasectl_sync_') AS sync_triggers,
         -- ENABLE ALWAYS (fire under session_replication_role = replica too), on partitions created or attached later too.
         (SELECT count(*)::int FROM pg_trigger t WHERE t.tgrelid = p.relid AND t.tgname ~ '^zz+_phasectl_sync_' AND t.tgenabled = 'A') AS always
       FROM pg_partition_tree('public.events') p ORDER BY 1`,
    ),
  ).toEqual(tree.map((rel) => ({ rel, has_name: true, sync_triggers: 3, always: 3 })));
  for (const index of copies) {
    // One index per relation of the tree, all valid, each attached to the index of its parent table.
    expect(
      await query(
        url,
        `SELECT i.indrelid::regclass::text AS rel, i.indisvalid AS valid,
           (t.parentrelid IS NULL OR (SELECT ip.indrelid FROM pg_index ip WHERE ip.indexrelid = t.parentrelid)
              = (SELECT p.parentrelid FROM pg_partition_tree('public.events') p WHERE p.relid = i.indrelid)) AS attached_to_parent
         FROM pg_partition_tree('public.${index}') t JOIN pg_index i ON i.indexrelid = t.relid ORDER BY 1`,
      ),
      index,
    ).toEqual(tree.map((rel) => ({ rel, valid: true, attached_to_parent: true })));
  }
}

describe.each(Object.entries(hierarchies))('a partitioned table (%s)', (label, hierarchy) => {
  test('the whole lifecycle with writers, every down, partitions created, attached and detached in flight', async () => {
    const { url, dir, ok } = await databaseWithFolder(cleanups, hierarchy.setup, 'phasectl-partitioned-');
    const writers = new Writers(url, hierarchy);
    const relations = await treeOf(url);
    const before = await catalog(url, relations);

    await ok('init');
    await ok('plan', 'rename', 'public.events.title', 'name', '--id', 'events-title');
    expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toContain('partitioned: true');

    // Phase 1, with the old release writing.
    await ok('advance', '--release', '1.0.0');
    await writers.during(['title'], () => ok('migrate', '--quiet'));
    await expectPhaseOneEverywhere(url, hierarchy.copies);
    const phase1 = await catalog(url, relations);
    // Its down restores the catalog; applied again, the same phase 1.
    await ok('rollback', '--release', '1.0.0', '--yes', '--quiet');
    expect(await catalog(url, relations)).toEqual(before);
    await writers.during(['title'], () => ok('migrate', '--quiet'));
    expect(await catalog(url, relations)).toEqual(phase1);

    // A partition created while phase 1 is in flight gets the column, the triggers and the indexes by itself.
    if (hierarchy.createInPhase1) {
      await query(url, hierarchy.createInPhase1);
      await expectPhaseOneEverywhere(url, hierarchy.copies);
    }

    // Phase 2, with both releases writing.
    await ok('advance', '--release', '2.0.0');
    await writers.during(['title', 'name'], () => ok('migrate', '--quiet'));
    expect(await writers.lost('title')).toEqual([]);
    expect(await writers.lost('name')).toEqual([]);
    const phase2 = await catalog(url, relations);
    await ok('rollback', '--release', '2.0.0', '--yes', '--quiet');
    expect(await catalog(url, relations)).toEqual(phase1);
    await writers.during(['title', 'name'], () => ok('migrate', '--quiet'));
    expect(await catalog(url, relations)).toEqual(phase2);

    // A table made elsewhere: PostgreSQL refuses to attach it without the new column; with it (filled), it attaches.
    if (hierarchy.attachInPhase2) {
      const { make, table, attach } = hierarchy.attachInPhase2;
      await query(url, make);
      await expect(query(url, attach)).rejects.toThrow(/column "name"/);
      await query(url, `ALTER TABLE ${table} ADD COLUMN name text; UPDATE ${table} SET name = title`);
      // It must carry the parent's CHECK constraints too, those phase 1 copied onto the new column included.
      await expect(query(url, attach)).rejects.toThrow(/missing constraint/);
      await query(url, hierarchy.attachInPhase2.constraints);
      await query(url, attach);
      await expectPhaseOneEverywhere(url, hierarchy.copies);
    }
    // A partition detached in flight keeps its own copy of both columns; phase 3 leaves it alone.
    if (hierarchy.detachInPhase2) await query(url, hierarchy.detachInPhase2.detach);

    // Phase 3, with the new release writing.
    await ok('advance', '--release', '3.0.0');
    await writers.during(['name'], () => ok('migrate', '--quiet'));
    expect(writers.errors).toEqual([]);
    expect(await writers.lost('name')).toEqual([]);
    const tree = await treeOf(url);
    expect(
      await query(
        url,
        `SELECT p.relid::regclass::text AS rel, array_agg(a.attname::text ORDER BY a.attname) FILTER (WHERE a.attname IN ('title', 'name')) AS columns,
           bool_and(a.attnotnull) FILTER (WHERE a.attname = 'name') AS not_null,
           (SELECT count(*)::int FROM pg_trigger t WHERE t.tgrelid = p.relid AND t.tgname ~ 'phasectl') AS sync_triggers
         FROM pg_partition_tree('public.events') p JOIN pg_attribute a ON a.attrelid = p.relid AND a.attnum > 0 AND NOT a.attisdropped
         GROUP BY p.relid ORDER BY 1`,
      ),
    ).toEqual(
      tree.map((rel) => ({
        rel,
        columns: ['name'],
        not_null: label !== 'hash', // title was NOT NULL except in the hash table
        sync_triggers: 0,
      })),
    );
    if (hierarchy.detachInPhase2) {
      expect(
        await query(
          url,
          `SELECT array_agg(attname::text ORDER BY attname) AS columns FROM pg_attribute
           WHERE attrelid = '${hierarchy.detachInPhase2.table}'::regclass AND attname IN ('title', 'name') AND NOT attisdropped`,
        ),
      ).toEqual([{ columns: ['name', 'title'] }]);
    }
    // The down of phase 3 brings the old column back everywhere (indexes rebuilt per partition, attached).
    const phase3 = await catalog(url, relations);
    await ok('rollback', '--release', '3.0.0', '--yes', '--quiet');
    expect(await catalog(url, relations)).toEqual(phase2);
    await ok('migrate', '--quiet');
    expect(await catalog(url, relations)).toEqual(phase3);
  }, 600_000);
});

describe('locks on a partitioned table', () => {
  /**
   * DROP TRIGGER on a partitioned parent locks each partition before it takes the parent's exclusive lock. An insert
   * holds the parent first and then its partition: the two could deadlock, and the application's insert be the one
   * cancelled (seen under load). Phase 3 (and phase 1's down, which drops the same triggers) lock the parent first:
   * while an application transaction holds the parent, phasectl waits holding no partition lock.
   */
  test('phase 3 waits for the parent before it locks any partition', async () => {
    const { url, run, ok } = await databaseWithFolder(
      cleanups,
      hierarchies['range with a default partition']!.setup,
      'phasectl-partitioned-locks-',
    );
    await ok('init');
    await ok('plan', 'rename', 'public.events.title', 'name', '--id', 'events-title');
    await ok('advance', '--release', '1.0.0');
    await ok('migrate', '--quiet');

    /** Runs `args` while an application transaction holds the parent; returns the partitions phasectl held meanwhile. */
    const partitionsHeldWhileWaiting = async (...args: string[]): Promise<string[]> => {
      const app: pg.Client = await client(url);
      try {
        await app.query('BEGIN');
        await app.query('LOCK TABLE ONLY public.events IN ROW EXCLUSIVE MODE');
        const running = run(...args);
        const waiting = async () =>
          query<{ pid: number }>(
            url,
            `SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE NOT l.granted AND a.datname = current_database() AND a.application_name LIKE 'phasectl%'`,
          );
        let pids: Array<{ pid: number }> = [];
        for (let i = 0; i < 600 && pids.length === 0; i++) {
          pids = await waiting();
          if (pids.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(pids.length, 'phasectl never waited for the application transaction').toBeGreaterThan(0);
        const held = await query<{ relation: string }>(
          url,
          `SELECT DISTINCT l.relation::regclass::text AS relation FROM pg_locks l
           JOIN pg_inherits i ON i.inhrelid = l.relation
           WHERE l.pid = $1 AND l.granted AND l.locktype = 'relation' ORDER BY 1`,
          [pids[0]!.pid],
        );
        await app.query('COMMIT');
        const result = await running;
        expect(result.code, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
        return held.map((row) => row.relation);
      } finally {
        await app.end();
      }
    };

    await ok('advance', '--release', '2.0.0');
    await ok('migrate', '--quiet');
    await ok('advance', '--release', '3.0.0');
    expect(await partitionsHeldWhileWaiting('migrate', '--quiet')).toEqual([]);
    expect(await query(url, `SELECT count(*)::int AS n FROM phasectl.changes WHERE phase = 3`)).toEqual([{ n: 1 }]);
  }, 180_000);
});

describe('what plan refuses on a partitioned table', () => {
  test('a partition key column at any level (exit 2, nothing changed); a partition trigger moves the sync trigger name', async () => {
    const { url, dir, run } = await databaseWithFolder(
      cleanups,
      hierarchies['two levels: list, then range']!.setup,
      'phasectl-partitioned-refusals-',
    );
    expect((await run('init')).code).toBe(0);
    const initial = await readFile(join(dir, 'phases.yaml'), 'utf8');

    const top = await run('plan', 'rename', 'public.events.region', 'area');
    expect(top.code, top.stderr).toBe(2);
    expect(top.stderr).toContain('is part of the partition key of public.events (PARTITION BY LIST (region))');
    expect(top.stderr).toContain('PostgreSQL cannot change a partition key, so the old column could never be dropped');
    // The key of a sub-partitioned partition only.
    const sub = await run('plan', 'rename', 'public.events.created_at', 'created_on');
    expect(sub.code, sub.stderr).toBe(2);
    expect(sub.stderr).toContain('is part of the partition key of public.events_eu (PARTITION BY RANGE (created_at))');
    // A column read by a key expression.
    await query(
      url,
      `CREATE TABLE public.codes (id bigint NOT NULL, code text) PARTITION BY LIST (lower(code));
       CREATE TABLE public.codes_a PARTITION OF public.codes FOR VALUES IN ('a');`,
    );
    const expression = await run('plan', 'rename', 'public.codes.code', 'label');
    expect(expression.code, expression.stderr).toBe(2);
    expect(expression.stderr).toContain(
      'is part of the partition key of public.codes (PARTITION BY LIST (lower(code)))',
    );
    expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(initial);
    expect(await query(url, `SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'phasectl'`)).toEqual([
      { n: 0 },
    ]);

    // An index of one partition only would not be copied, and phase 3 would drop it.
    await query(url, `CREATE INDEX events_us_title ON public.events_us (title)`);
    const local = await run('plan', 'rename', 'public.events.title', 'name', '--id', 'events-title');
    expect(local.code, local.stderr).toBe(2);
    expect(local.stderr).toContain('has index public.events_us_title on public.events_us of a partition only');
    await query(url, `DROP INDEX public.events_us_title`);

    // A statistics object of one partition (never inherited) would be dropped with the old column in phase 3.
    await query(url, `CREATE STATISTICS public.events_us_stats ON title, id FROM public.events_us`);
    const statistics = await run('plan', 'rename', 'public.events.title', 'name', '--id', 'events-title');
    expect(statistics.code, statistics.stderr).toBe(2);
    expect(statistics.stderr).toContain('is used by statistics object events_us_stats on public.events_us');
    await query(url, `DROP STATISTICS public.events_us_stats`);

    // A BEFORE trigger on one partition only, sorting after the default sync trigger name.
    await query(
      url,
      `CREATE FUNCTION public.keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
       CREATE TRIGGER zz_zebra BEFORE UPDATE ON public.events_us FOR EACH ROW EXECUTE FUNCTION public.keep();`,
    );
    const planned = await run('plan', 'rename', 'public.events.title', 'name', '--id', 'events-title');
    expect(planned.code, planned.stderr).toBe(0);
    expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toContain('syncTrigger: zzz_phasectl_sync_events_title');
  }, 120_000);

  test('a move from a partitioned table says why it is refused', async () => {
    const { run } = await databaseWithFolder(
      cleanups,
      `${hierarchies.hash!.setup}
       CREATE TABLE public.event_notes (event_id bigint PRIMARY KEY REFERENCES public.events (id));`,
      'phasectl-partitioned-move-',
    );
    expect((await run('init')).code).toBe(0);
    const move = await run('plan', 'move', 'public.events.title', 'public.event_notes.title', '--on', 'id=event_id');
    expect(move.code, move.stderr).toBe(2);
    expect(move.stderr).toContain('public.events is a partitioned table; a move keeps two tables in sync');
  }, 120_000);
});
