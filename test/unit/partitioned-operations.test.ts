import { describe, expect, test } from 'vitest';
import { renameOperation } from '../../src/operations/rename.js';
import { parseHeader, renderHeader } from '../../src/migration-file/header.js';
import { stampProvenance } from '../../src/migration-file/provenance.js';
import { STATEMENT_ROWS_MARKER } from '../../src/operations/partitioned-indexes.js';
import { isStatementRowsQuery, statementRows } from '../../src/runner/statement-rows.js';
import { splitStatements } from '../../src/sql/split-statements.js';
import type { RenameChange } from '../../src/spec/types.js';

/** Issue 13 item 1: what a rename on a partitioned table generates, beside the same rename on an ordinary table. */
function change(partitioned: boolean, constraints: RenameChange['column']['constraints'] = []): RenameChange {
  return {
    kind: 'rename',
    id: 'events-title',
    rename: { schema: 'public', table: 'events', from: 'title', to: 'name', ...(partitioned ? { partitioned } : {}) },
    column: {
      type: 'text',
      nullable: false,
      indexes: [
        {
          name: 'events_title_idx',
          unique: false,
          definition: `CREATE INDEX events_title_idx ON ${partitioned ? 'ONLY ' : ''}public.events USING btree (title)`,
        },
      ],
      constraints,
    },
    key: { columns: ['id', 'created_at'], types: ['bigint', 'date'] },
    releases: { phase1: '1.0.0' },
  } as RenameChange;
}

const sqlOf = (target: RenameChange, direction: 'up' | 'down', step: string) =>
  renameOperation.steps(target, 1)[direction].find((candidate) => candidate.name === step)!.sql;

describe('a rename on a partitioned table', () => {
  test('indexes: ON ONLY the parent, then one CONCURRENTLY build and one ATTACH per partition, found at run time', () => {
    const sql = sqlOf(change(true), 'up', 'indexes');
    expect(sql).toContain('CREATE INDEX IF NOT EXISTS "events_name_idx" ON ONLY "public"."events" USING btree (name);');
    expect(sql).toContain('SELECT statement AS phasectl_statement FROM (');
    expect(sql).toContain("'CREATE INDEX CONCURRENTLY IF NOT EXISTS %I ON %s %s'");
    expect(sql).toContain("'ALTER INDEX %s ATTACH PARTITION %I.%I'");
    expect(sql).toContain('is not valid yet: partition % has no valid index attached');
    // Never a CONCURRENTLY build on the parent itself (PostgreSQL refuses it).
    expect(sql).not.toMatch(/^CREATE INDEX CONCURRENTLY/m);
    // The ordinary table keeps its CONCURRENTLY build on the table.
    expect(sqlOf(change(false), 'up', 'indexes')).toContain(
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS "events_name_idx" ON public.events USING btree (name);',
    );
  });

  test("the down drops the parent index (which drops the partitions') without CONCURRENTLY", () => {
    expect(sqlOf(change(true), 'down', 'drop-indexes')).toMatch(/^DROP INDEX IF EXISTS "public"."events_name_idx";$/m);
    expect(sqlOf(change(false), 'down', 'drop-indexes')).toMatch(
      /^DROP INDEX CONCURRENTLY IF EXISTS "public"."events_name_idx";$/m,
    );
  });

  test('the trigger-order guard looks at every partition, even with the default trigger name', () => {
    const expand = sqlOf(change(true), 'up', 'expand');
    const guard = 'fires after the sync trigger';
    expect(expand).toContain(guard);
    expect(expand).toContain('pg_catalog.pg_partition_tree(\'"public"."events"\'::pg_catalog.regclass)');
    expect(sqlOf(change(false), 'up', 'expand')).not.toContain(guard);
  });

  test('a UNIQUE constraint or a foreign key on the column cannot be copied there (a hand-edited phases.yaml)', () => {
    expect(() =>
      renameOperation.steps(
        change(true, [
          {
            name: 'events_title_fk',
            kind: 'foreign_key',
            definition: 'FOREIGN KEY (title) REFERENCES public.t(title)',
          },
        ]),
        1,
      ),
    ).toThrow(/constraint events_title_fk cannot be copied on a partitioned table/);
  });

  test("the runner runs the rows of the generated step's marked query only, never another query's", () => {
    const step = renameOperation.steps(change(true), 1).up.find((candidate) => candidate.name === 'indexes')!;
    const generated = stampProvenance(`${renderHeader(step, '1.0.0')}${step.sql}`, '0.1.0', '0123456789abcdef');
    const file = (content: string) => ({ header: parseHeader(content), content });
    const query = splitStatements(generated).find((statement) => statement.includes('AS phasectl_statement'))!;
    const result = (fields: string[], rows: Record<string, unknown>[]) =>
      ({ fields: fields.map((name) => ({ name })), rows }) as never;
    const rows = result(['phasectl_statement'], [{ phasectl_statement: 'SELECT 1' }]);
    expect(step.transaction).toBe(false);
    expect(statementRows(file(generated), query, rows)).toEqual(['SELECT 1']);
    expect(statementRows(file(generated), query, result(['statement'], [{ statement: 'SELECT 1' }]))).toEqual([]);
    expect(
      statementRows(file(generated), query, result(['phasectl_statement', 'x'], [{ phasectl_statement: 'SELECT 1' }])),
    ).toEqual([]);
    expect(statementRows(file(generated), query, undefined)).toEqual([]);
    // Another statement of the same file, even one returning that column: only a result.
    const other = splitStatements(generated).find((statement) => statement.includes('ON ONLY "public"."events"'))!;
    expect(statementRows(file(generated), other, rows)).toEqual([]);
    // The marker must open the query: a marker line further down, or inside a block comment, does not count.
    expect(isStatementRowsQuery(file(generated), `SELECT 1 AS x\n${STATEMENT_ROWS_MARKER}\nFROM t`)).toBe(false);
    expect(isStatementRowsQuery(file(generated), `/*\n${STATEMENT_ROWS_MARKER}\n*/ SELECT 1`)).toBe(false);
    // The file must be a generated transaction=false step, as generated (its digest covers the marker).
    expect(statementRows(file(generated.replace('SELECT 1 AS pass', 'SELECT 1  AS pass')), query, rows)).toEqual([]);
    expect(statementRows(file(generated.replace('transaction=false', 'transaction=true')), query, rows)).toEqual([]);
    expect(statementRows({ header: undefined, content: step.sql }, query, rows)).toEqual([]);
    // A file without the provenance fields (hand-made, or from before them) never runs rows.
    expect(statementRows(file(`${renderHeader(step, '1.0.0')}${step.sql}`), query, rows)).toEqual([]);
  });
});
