import { sql, type Kysely } from 'kysely';
import { InputError } from '../errors.js';
import { domainChainCtes } from '../sql/domain-chain.js';

/**
 * Whether PostgreSQL converts `from` to `to` on assignment (what `CAST` in a backfill and the sync trigger
 * rely on when no expression is given): the same base type (a typmod change), a pg_cast entry of context
 * assignment or implicit (binary-coercible ones included), or the automatic I/O conversion to a string type.
 */
export async function hasAssignmentCast(db: Kysely<any>, from: string, to: string): Promise<boolean> {
  // A domain converts as its base type does (PostgreSQL casts through it, then checks the domain): compare bases.
  const { rows } = await sql<{ ok: boolean }>`
    WITH RECURSIVE input(type) AS (
      SELECT DISTINCT v.type
        FROM (VALUES (pg_catalog.to_regtype(${from})::pg_catalog.oid), (pg_catalog.to_regtype(${to})::pg_catalog.oid)) AS v(type)
    ), ${sql.raw(domainChainCtes('SELECT input.type FROM input'))},
    t AS (SELECT (SELECT b.base FROM domain_base AS b WHERE b.start OPERATOR(pg_catalog.=) pg_catalog.to_regtype(${from})::pg_catalog.oid) AS source,
                 (SELECT b.base FROM domain_base AS b WHERE b.start OPERATOR(pg_catalog.=) pg_catalog.to_regtype(${to})::pg_catalog.oid) AS target)
    SELECT t.source OPERATOR(pg_catalog.=) t.target
        OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast c WHERE c.castsource OPERATOR(pg_catalog.=) t.source AND c.casttarget OPERATOR(pg_catalog.=) t.target AND c.castcontext IN ('a', 'i'))
        OR (SELECT typcategory FROM pg_catalog.pg_type WHERE oid OPERATOR(pg_catalog.=) t.target) OPERATOR(pg_catalog.=) 'S' AS ok
    FROM t`.execute(db);
  return rows[0]?.ok ?? false;
}

/** Refuses a type change whose missing `up` / `down` expression has no assignment cast to stand in for it. */
export async function requireConversions(
  db: Kysely<any>,
  where: string,
  oldType: string,
  newType: string,
  given: { up?: string; down?: string },
): Promise<void> {
  const { rows } = await sql<{ old_ok: boolean; new_ok: boolean }>`
    SELECT pg_catalog.to_regtype(${oldType}) IS NOT NULL AS old_ok, pg_catalog.to_regtype(${newType}) IS NOT NULL AS new_ok`.execute(
    db,
  );
  if (!rows[0]?.new_ok)
    throw new InputError(`--type ${newType} is not a type this database knows`, {
      hint: 'give a type name as PostgreSQL spells it, e.g. bigint, numeric(12,2), text; qualify your own types with their schema (public.mood): phasectl resolves names with search_path = pg_catalog, pg_temp',
    });
  const missing: string[] = [];
  if (given.up === undefined && !(await hasAssignmentCast(db, oldType, newType)))
    missing.push(`--up (${oldType} → ${newType})`);
  if (given.down === undefined && !(await hasAssignmentCast(db, newType, oldType)))
    missing.push(`--down (${newType} → ${oldType})`);
  if (missing.length > 0) {
    throw new InputError(`${where}: PostgreSQL has no assignment cast for ${missing.join(' and ')}`, {
      hint: 'give the conversion as SQL expressions of the column, e.g. --up "round(amount * 100)::bigint" --down "amount_cents / 100.0"',
    });
  }
}
