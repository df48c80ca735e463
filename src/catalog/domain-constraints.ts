import { sql, type Kysely } from 'kysely';
import { InputError } from '../errors.js';
import { domainChainCtes } from '../sql/domain-chain.js';

/**
 * Refuses a column phasectl would add (a rename's new column, a move's target column) whose type is a domain with
 * constraints (CHECK or NOT NULL, on it or on a domain under it). PostgreSQL checks such a domain against every
 * existing row when the column is added — a table rewrite under ACCESS EXCLUSIVE on PostgreSQL 14–18, blocking reads
 * and writes for as long as it takes; a NOT NULL domain fails outright. Found by trust8's review (session 8).
 */
export async function refuseConstrainedDomainColumn(
  db: Kysely<any>,
  type: string,
  where: string,
  newColumn: string,
  kind: 'rename' | 'move',
): Promise<void> {
  const { rows } = await sql<{ domain: string; base: string; rules: string }>`
    WITH RECURSIVE input(type) AS (
      SELECT pg_catalog.to_regtype(${type})::pg_catalog.oid
    ), ${sql.raw(domainChainCtes('SELECT input.type FROM input'))}
    SELECT pg_catalog.format_type(input.type, NULL) AS domain,
           pg_catalog.format_type((SELECT b.base FROM domain_base AS b), NULL) AS base,
           pg_catalog.concat_ws(', ',
             (SELECT pg_catalog.string_agg(DISTINCT 'CHECK ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(con.conname), ', ')
                FROM pg_catalog.pg_constraint AS con
               WHERE con.contypid IN (SELECT c.type FROM domain_chain AS c) AND con.contype OPERATOR(pg_catalog.=) 'c'),
             CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_type AS t
                                WHERE t.oid IN (SELECT c.type FROM domain_chain AS c) AND t.typnotnull) THEN 'NOT NULL' END) AS rules
      FROM input`.execute(db);
  const found = rows[0];
  if (!found || found.rules === '') return;
  throw new InputError(
    `${where} is of domain ${found.domain}, which has constraints (${found.rules}): adding ${newColumn} of that type makes PostgreSQL check every existing row under an ACCESS EXCLUSIVE lock (a table rewrite), blocking reads and writes for as long as that takes`,
    {
      hint:
        kind === 'rename'
          ? `plan the change with --type ${found.base ?? '<the base type>'} (the new column takes the domain's base type; add the domain's rules to it as a CHECK constraint after phase 1: ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT, short locks), or drop the domain's constraints for the duration of the change; nothing was changed`
          : `while the target table is small, add the column yourself (ALTER TABLE … ADD COLUMN … ${found.domain}: it checks every row under that lock) and plan again (an existing column of the same type is used as it is); or drop the domain's constraints for the duration of the change; nothing was changed`,
    },
  );
}
