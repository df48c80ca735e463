import { quoteLiteral } from '../render/quote.js';

/**
 * The schemas, other than pg_catalog, that hold the comparison operators of the key's types: the operators of
 * each type's default btree operator class (the ones `ORDER BY key` and the key's index use), e.g. `public` for
 * a citext key. Domains count as their base type. Types with no operator class of their own (varchar, enums,
 * arrays) use built-in ones in pg_catalog and add nothing.
 *
 * Why: the keyset walk orders by the key (default btree opclass) and compares it with `>`/`<=`. With
 * `search_path = pg_catalog, pg_temp`, `citext > citext` resolves through an implicit cast to text's operator,
 * which orders differently (case-sensitively): batches would skip rows. With the operators' own schema on the
 * path, the exact-type operator (the opclass's) is the one chosen.
 */
export function keyOperatorSchemasQuery(keyTypesArray: string): string {
  return `
  SELECT DISTINCT n.nspname AS schema
  FROM pg_catalog.unnest(${keyTypesArray}) AS k(type_name)
  CROSS JOIN LATERAL (SELECT pg_catalog.to_regtype(k.type_name) AS oid) AS t
  JOIN pg_catalog.pg_type AS ty ON ty.oid OPERATOR(pg_catalog.=) t.oid
  JOIN pg_catalog.pg_opclass AS c
    ON c.opcintype OPERATOR(pg_catalog.=) (CASE WHEN ty.typtype OPERATOR(pg_catalog.=) 'd' THEN ty.typbasetype ELSE ty.oid END)
   AND c.opcdefault
   AND c.opcmethod OPERATOR(pg_catalog.=) (SELECT a.oid FROM pg_catalog.pg_am AS a WHERE a.amname OPERATOR(pg_catalog.=) 'btree')
  JOIN pg_catalog.pg_amop AS ao
    ON ao.amopfamily OPERATOR(pg_catalog.=) c.opcfamily AND ao.amopstrategy OPERATOR(pg_catalog.=) 5
   AND ao.amoplefttype OPERATOR(pg_catalog.=) c.opcintype AND ao.amoprighttype OPERATOR(pg_catalog.=) c.opcintype
  JOIN pg_catalog.pg_operator AS o ON o.oid OPERATOR(pg_catalog.=) ao.amopopr
  JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) o.oprnamespace
  WHERE n.nspname OPERATOR(pg_catalog.<>) 'pg_catalog'`;
}

/**
 * The statement of the generated DO blocks (backfill, verify) that does what addKeyOperatorSchemas does, for
 * other runners; `saved_path` is a plpgsql variable holding the path to restore at the end.
 */
export function keyOperatorPathStatement(keyTypes: readonly string[]): string {
  const array = `ARRAY[${keyTypes.map(quoteLiteral).join(', ')}]::pg_catalog.text[]`;
  const query = keyOperatorSchemasQuery(array)
    .trim()
    .split('\n')
    .map((line) => `      ${line.replace(/^ {2}/, '')}`)
    .join('\n');
  return (
    `PERFORM pg_catalog.set_config('search_path', saved_path OPERATOR(pg_catalog.||) coalesce((\n` +
    `    SELECT pg_catalog.string_agg(', ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(s.schema), '') FROM (\n` +
    `${query}) AS s), ''), false)`
  );
}
