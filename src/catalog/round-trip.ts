import type pg from 'pg';
import { InputError, RuntimeFailure } from '../errors.js';
import { renameConversions } from '../operations/rename.js';
import { qualify, quoteIdent } from '../render/quote.js';
import { describePgError, pgError } from '../session/pg-error.js';
import type { RenameChange } from '../spec/types.js';

/** A row whose value does not come back unchanged through `down(up(x))`. */
export interface LossyRow {
  /** `id=42` or `(tenant, id)=(3, 42)`. */
  key: string;
  value: string | null;
  converted: string | null;
  back: string | null;
}

export interface RoundTripReport {
  /** Rows checked. */
  rows: number;
  /** The first row (in key order) that `down(up(x))` does not give back; undefined when every row does. */
  lossy?: LossyRow;
}

/** Rows per batch: each batch is one short READ ONLY transaction. */
const BATCH_ROWS = 2000;
/** Longest a batch may run; a slower one stops plan rather than hold a snapshot for long. */
const BATCH_TIMEOUT = '10s';
/** Values are shown cut to this many characters. */
const SHOWN = 120;

/**
 * Checks, on every existing row of the table, that the conversion of a rename succeeds and that the
 * reverse gives the value back: `up(x)` must not fail (the backfill and the sync trigger would, and then
 * every application write), `down(up(x))` must not fail (phase 2's sync), and must be `x` by identity
 * (`ROW(a)::record *<> ROW(b)::record` compares binary images (the casts make them records, not row constructors
 * compared column by column), NULL equal to NULL: 1.0 vs 1.00 or 'A' vs 'a' under a
 * case-insensitive collation differ). The expressions are the generated SQL's own (`renameConversions`).
 *
 * Read-only: batches walk the key, each in its own `BEGIN READ ONLY` transaction with a statement timeout and
 * `row_security = off` (a policy that would hide rows makes it fail instead), so a user expression cannot
 * write. It runs on the session's search_path, like the rest of plan's reads.
 * A failing conversion throws an InputError naming the first failing row's key and value.
 */
export async function checkRoundTrip(
  pool: pg.Pool,
  change: RenameChange,
  options: { batchRows?: number } = {},
): Promise<RoundTripReport> {
  const sql = roundTripSql(change);
  const client = await pool.connect();
  try {
    await requireValidExpressions(client, sql, change);
    let rows = 0;
    let last: string[] | undefined;
    for (;;) {
      const batch = await readOnly(client, async () => {
        const keys = (
          await client.query<{ key: string[] }>(last ? sql.keysAfter : sql.keysFromStart, [
            ...(last ?? []),
            options.batchRows ?? BATCH_ROWS,
          ])
        ).rows.map((row) => row.key);
        if (keys.length === 0) return { keys, lossy: undefined, error: undefined };
        try {
          const found = (
            await client.query<LossyRow & { key: string[] }>(sql.firstLossy, [...keys[0]!, ...keys.at(-1)!])
          ).rows[0];
          return { keys, lossy: found, error: undefined };
        } catch (error) {
          return { keys, lossy: undefined, error };
        }
      });
      if (batch.keys.length === 0) return { rows };
      if (batch.error) throw await failingRow(client, sql, change, batch.keys, batch.error);
      if (batch.lossy)
        return {
          rows: rows + batch.keys.length,
          lossy: { ...batch.lossy, key: sql.describeKey(batch.lossy.key as unknown as string[]) },
        };
      rows += batch.keys.length;
      last = batch.keys.at(-1);
    }
  } finally {
    client.release();
  }
}

interface RoundTripSql {
  keysFromStart: string;
  keysAfter: string;
  /** The first row of [lo, hi] that does not come back (params: lo, hi); fails when a conversion fails. */
  firstLossy: string;
  /** Converts the rows of [lo, hi] (params: lo, hi); fails when up fails. */
  upOnly: string;
  /** Parses and plans each expression without reading a row (an empty table still gets them checked). */
  upParses: string;
  downParses: string;
  describeKey(key: string[]): string;
}

function roundTripSql(change: RenameChange): RoundTripSql {
  const { up, down, oldType, newType } = renameConversions(change);
  const table = qualify(change.rename.schema, change.rename.table);
  const columns = change.key.columns.map((column) => `t.${quoteIdent(column)}`);
  const tuple = `(${columns.join(', ')})`;
  const params = (from: number) => `(${change.key.types.map((type, i) => `CAST($${from + i} AS ${type})`).join(', ')})`;
  const width = columns.length;
  const keyArray = `ARRAY[${columns.map((c) => `${c}::text`).join(', ')}]`;
  const order = columns.join(', ');
  const x = `t.${quoteIdent(change.rename.from)}`;
  const inRange = `${tuple} >= ${params(1)} AND ${tuple} <= ${params(width + 1)}`;
  const shown = (value: string) => `pg_catalog.left(${value}::text, ${SHOWN})`;
  return {
    keysFromStart: `SELECT ${keyArray} AS key FROM ${table} AS t ORDER BY ${order} LIMIT $1`,
    keysAfter: `SELECT ${keyArray} AS key FROM ${table} AS t WHERE ${tuple} > ${params(1)} ORDER BY ${order} LIMIT $${width + 1}`,
    firstLossy:
      `SELECT ${keyArray} AS key, ${shown(x)} AS value, ${shown('u.v')} AS converted, ${shown('r.v')} AS back ` +
      `FROM ${table} AS t CROSS JOIN LATERAL (SELECT CAST(${up(x)} AS ${newType}) AS v) AS u ` +
      `CROSS JOIN LATERAL (SELECT CAST(${down('u.v')} AS ${oldType}) AS v) AS r ` +
      `WHERE ${inRange} AND ROW(r.v)::record OPERATOR(pg_catalog.*<>) ROW(${x})::record ORDER BY ${order} LIMIT 1`,
    upOnly: `SELECT count(CAST(${up(x)} AS ${newType})) FROM ${table} AS t WHERE ${inRange}`,
    upParses: `SELECT CAST(${up(x)} AS ${newType}) FROM ${table} AS t WHERE false`,
    downParses: `SELECT CAST(${down(`CAST(NULL AS ${newType})`)} AS ${oldType}) FROM ${table} AS t WHERE false`,
    describeKey: (key) =>
      width === 1 ? `${change.key.columns[0]}=${key[0]}` : `(${change.key.columns.join(', ')})=(${key.join(', ')})`,
  };
}

/** An expression that does not parse, names an unknown function, or has no cast to the column type fails here. */
async function requireValidExpressions(client: pg.PoolClient, sql: RoundTripSql, change: RenameChange): Promise<void> {
  for (const [name, query] of [
    ['up', sql.upParses],
    ['down', sql.downParses],
  ] as const) {
    const error = await readOnly(client, () =>
      client.query(query).then(
        () => undefined,
        (failure: unknown) => failure,
      ),
    );
    if (!error) continue;
    if (!isRowError(error)) throw notChecked(change, error);
    throw new InputError(`the ${name} expression does not work on ${change.rename.table}: ${describePgError(error)}`, {
      hint: 'fix the expression (the sync trigger runs it with search_path = pg_catalog, pg_temp: schema-qualify your own functions); nothing was written',
    });
  }
}

/** Runs `work` in a READ ONLY transaction that is always rolled back. */
async function readOnly<T>(client: pg.PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN READ ONLY');
  try {
    await client.query(
      `SET LOCAL statement_timeout = '${BATCH_TIMEOUT}'; SET LOCAL lock_timeout = '2s'; SET LOCAL row_security = off`,
    );
    return await work();
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

/** Bisects a failed batch down to its first row whose conversion fails, and says which one failed. */
async function failingRow(
  client: pg.PoolClient,
  sql: RoundTripSql,
  change: RenameChange,
  keys: string[][],
  original: unknown,
): Promise<Error> {
  if (!isRowError(original)) return notChecked(change, original);
  const fails = (query: string, lo: string[], hi: string[]) =>
    readOnly(client, () =>
      client.query(query, [...lo, ...hi]).then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
  let lo = 0;
  let hi = keys.length - 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (await fails(sql.firstLossy, keys[lo]!, keys[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  const key = keys[lo]!;
  const error = await fails(sql.firstLossy, key, key);
  if (!error) return notChecked(change, original);
  const upError = await fails(sql.upOnly, key, key);
  const value = await readOnly(client, () =>
    client.query<{ value: string | null }>(
      `SELECT pg_catalog.left(${'t.' + quoteIdent(change.rename.from)}::text, ${SHOWN}) AS value FROM ${qualify(change.rename.schema, change.rename.table)} AS t WHERE ${sqlKeyEquals(change)}`,
      key,
    ),
  ).then(
    (result) => result.rows[0]?.value ?? null,
    () => null,
  );
  const { from, to } = change.rename;
  const where = `${sql.describeKey(key)} (${from} = ${value === null ? 'NULL' : quoteText(value)})`;
  if (upError) {
    return new InputError(`the up expression fails on the row ${where}: ${describePgError(upError)}`, {
      hint: `every existing row must convert, or the backfill stops and every write to the row fails once the sync trigger exists: fix the data, or give an --up expression that handles such values (e.g. CASE … END); nothing was written`,
    });
  }
  return new InputError(`the down expression fails on up(${from}) of the row ${where}: ${describePgError(error)}`, {
    hint: `down(up(x)) must work for every existing row (phase 2 copies ${to} back into ${from} on every write): fix --down; nothing was written`,
  });
}

/** Errors that come from a value (data exceptions, bad casts), not from the session (timeouts, locks, connection). */
function isRowError(error: unknown): boolean {
  const code = pgError(error)?.code ?? '';
  // 25006: the expression tried to write (the transaction is READ ONLY).
  return (
    code === '25006' ||
    code.startsWith('22') ||
    code.startsWith('23') ||
    code.startsWith('P0') ||
    code.startsWith('42') ||
    code.startsWith('2F') ||
    code.startsWith('38') ||
    code.startsWith('39')
  );
}

function notChecked(change: RenameChange, error: unknown): RuntimeFailure {
  return new RuntimeFailure(
    `could not check the conversion of ${change.rename.table}.${change.rename.from} on the existing rows: ${describePgError(error)}`,
    {
      hint: 'nothing was written; run plan again when the table is not locked (each batch waits at most 2 s for a lock and runs at most 10 s)',
      cause: error,
    },
  );
}

function sqlKeyEquals(change: RenameChange): string {
  return change.key.columns
    .map((column, i) => `t.${quoteIdent(column)} = CAST($${i + 1} AS ${change.key.types[i]})`)
    .join(' AND ');
}

function quoteText(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
