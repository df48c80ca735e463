import pg from 'pg';

/**
 * Which code writes: `old` is release 1.4.0 (reads and writes job_title), `new` is 1.5.0+ (favourite_color).
 * The demo changes the mix between releases, the way a blue/green deploy does.
 */
export type AppVersion = 'old' | 'new';

export interface TrafficMix {
  /** Versions serving requests now; each write goes to one of them at random. */
  versions: AppVersion[];
  /** Whether `new` instances insert rows (they only update until the switch is applied: see docs/demo.md). */
  newInserts: boolean;
}

export interface AppTraffic {
  /** Last committed value of every row a writer touched, by id. */
  readonly expected: ReadonlyMap<number, string>;
  readonly writes: { updates: number; inserts: number; failed: number; byVersion: Record<AppVersion, number> };
  /** Longest single application write, in ms (a long DDL lock would show here). */
  readonly slowestWriteMs: number;
  /** The first few errors of failed writes, for the report. */
  readonly errors: string[];
  setMix(mix: TrafficMix): void;
  stop(): Promise<void>;
}

/**
 * Starts `instances` application loops, each on its own connection, writing as fast as the server
 * lets them: random updates of existing rows and inserts of new ones, as the current mix's versions.
 * Instance k owns the ids ≡ k (mod instances), so every row has one writer at a time and its last
 * committed value is exactly known (the demo then checks every row against it).
 */
export async function startAppTraffic(
  url: string,
  options: { instances: number; rows: number; mix: TrafficMix; random?: () => number },
): Promise<AppTraffic> {
  const random = options.random ?? Math.random;
  const count = options.instances;
  const clients = await Promise.all(
    Array.from({ length: count }, async (_, k) => {
      const client = new pg.Client({ connectionString: url, application_name: `demo-app-${k + 1}` });
      await client.connect();
      client.on('error', () => undefined);
      return client;
    }),
  );
  const expected = new Map<number, string>();
  const writes = { updates: 0, inserts: 0, failed: 0, byVersion: { old: 0, new: 0 } };
  const errors: string[] = [];
  let mix = options.mix;
  let stopped = false;
  let slowestWriteMs = 0;

  const loop = async (client: pg.Client, k: number) => {
    const owned: number[] = [];
    let sequence = 0;
    // Inserted ids start well above the sample rows, interleaved by instance.
    let nextInsertId = options.rows + 1 + k + count;
    nextInsertId -= nextInsertId % count;
    nextInsertId += k;
    while (!stopped) {
      const version = mix.versions[Math.floor(random() * mix.versions.length)] ?? 'old';
      const column = version === 'old' ? 'job_title' : 'favourite_color';
      const insert = random() < 0.2 && (version === 'old' || mix.newInserts);
      sequence += 1;
      const value = `${version}-app${k + 1}-w${sequence}`;
      let id: number;
      let text: string;
      if (insert) {
        id = nextInsertId;
        nextInsertId += count;
        text = `INSERT INTO public.users (id, email, ${column}) VALUES ($1::bigint, 'new' || $1::text || '@example.com', $2)`;
      } else {
        id = pickOwnedId(random, options.rows, count, k, owned);
        text = `UPDATE public.users SET ${column} = $2 WHERE id = $1`;
      }
      const started = performance.now();
      try {
        const result = await client.query(text, [id, value]);
        if (result.rowCount !== 1) throw new Error(`${result.rowCount} rows written instead of 1`);
      } catch (error) {
        if (stopped) break;
        writes.failed += 1;
        if (errors.length < 5)
          errors.push(
            `${version} app, ${insert ? 'insert' : 'update'} of id ${id}: ${error instanceof Error ? error.message : String(error)}`,
          );
        continue;
      }
      slowestWriteMs = Math.max(slowestWriteMs, performance.now() - started);
      expected.set(id, value);
      writes.byVersion[version] += 1;
      if (insert) {
        writes.inserts += 1;
        owned.push(id);
      } else writes.updates += 1;
    }
  };
  const loops = clients.map((client, k) => loop(client, k));

  return {
    expected,
    writes,
    get slowestWriteMs() {
      return slowestWriteMs;
    },
    errors,
    setMix(next) {
      mix = next;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.allSettled(loops);
      await Promise.allSettled(clients.map((client) => client.end()));
    },
  };
}

/** A random id owned by instance k: one of the sample rows ≡ k (mod count), or now and then one it inserted. */
function pickOwnedId(random: () => number, rows: number, count: number, k: number, inserted: number[]): number {
  if (inserted.length > 0 && random() < 0.1) return inserted[Math.floor(random() * inserted.length)]!;
  const slots = Math.floor((rows - 1 - k) / count) + 1;
  if (slots <= 0) return inserted[0] ?? k + 1;
  return 1 + k + count * Math.floor(random() * slots);
}
