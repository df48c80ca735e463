/**
 * The one definition of "the type under a domain" that phasectl's catalog queries share: the trust query's walk
 * through the types a value is converted to (src/sql/untrusted-code.ts), the domain-constraint refusal
 * (src/catalog/domain-constraints.ts), the assignment-cast test (src/catalog/type-casts.ts) and the move's join
 * column types (src/catalog/move-facts.ts). Pure text, every reference schema-qualified.
 */

/** A subquery of one row, the type a domain `type` (an alias of pg_catalog.pg_type) is over; none for other types. */
export function typeUnderDomain(type: string): string {
  return `SELECT ${type}.typbasetype WHERE ${type}.typtype OPERATOR(pg_catalog.=) 'd'`;
}

/**
 * Two CTEs for a `WITH RECURSIVE`: `domain_chain(start, type, depth)`, each type `starts` yields (a query of one oid
 * column) at depth 0, then the type under it while it is a domain (at most 32 levels, as a guard); and
 * `domain_base(start, base)`, the type at the bottom of each start's chain (the start itself when it is no domain).
 */
export function domainChainCtes(starts: string): string {
  return `domain_chain(start, type, depth) AS (
      SELECT s.start, s.start, 0 FROM (${starts}) AS s(start)
      UNION ALL
      SELECT c.start, under.type, c.depth OPERATOR(pg_catalog.+) 1
        FROM domain_chain AS c JOIN pg_catalog.pg_type AS t ON t.oid OPERATOR(pg_catalog.=) c.type
        CROSS JOIN LATERAL (${typeUnderDomain('t')}) AS under(type)
       WHERE c.depth OPERATOR(pg_catalog.<) 32
    ), domain_base(start, base) AS (
      SELECT c.start, c.type FROM domain_chain AS c JOIN pg_catalog.pg_type AS t ON t.oid OPERATOR(pg_catalog.=) c.type
       WHERE t.typtype OPERATOR(pg_catalog.<>) 'd'
    )`;
}
