import { expect, test } from 'vitest';
import {
  AUDIT_CHECKSUM_KIND,
  addBatch,
  auditMismatches,
  emptyTally,
  type AuditFigures,
} from '../../src/backfill/audit.js';
import { auditSql } from '../../src/operations/batch-walk.js';

const same = { rows: '3', nonNull: '2', checksum: '123' };
const figure = (phase: number, old = same, next = same, checksumKind = AUDIT_CHECKSUM_KIND): AuditFigures => ({
  phase,
  checksumKind,
  old,
  new: next,
  recordedAt: new Date(0),
});

test('equal figures within and across phases: no mismatch', () => {
  expect(auditMismatches('c', [figure(1), figure(2), figure(3)])).toEqual([]);
});

test('a difference within one pass names the phase and the repair; one across phases 1 and 3 says it may be writes', () => {
  const changed = { rows: '3', nonNull: '2', checksum: '124' };
  const found = auditMismatches('c', [figure(1), figure(3, same, changed)]);
  expect(found).toHaveLength(2);
  expect(found[0]).toMatch(
    /^phase 3: the old column \(3 rows, 2 non-NULL, checksum 123\) and the new column \(3 rows, 2 non-NULL, checksum 124\) differ in one pass; .*`phasectl backfill c --repair`/,
  );
  expect(found[1]).toMatch(
    /^the new column after phase 1 .* and after phase 3 .* differ: expected if the application wrote in between, a loss if nothing did$/,
  );
});

test('the tally sums batches exactly beyond 2^53 and takes a NULL checksum (no non-NULL value) as 0', () => {
  const tally = emptyTally();
  const big = (2n ** 60n - 1n).toString();
  addBatch(tally, {
    differing: '0',
    rows: '2',
    source_non_null: '2',
    source_checksum: big,
    target_non_null: '2',
    target_checksum: big,
  });
  addBatch(tally, {
    differing: '0',
    rows: '1',
    source_non_null: '0',
    source_checksum: null,
    target_non_null: '0',
    target_checksum: null,
  });
  expect(tally).toEqual({
    rows: 3n,
    oldNonNull: 2n,
    oldChecksum: 2n ** 60n - 1n,
    newNonNull: 2n,
    newChecksum: 2n ** 60n - 1n,
  });
});

test('the audit statement counts differing rows and hashes both sides byte by byte with schema-qualified functions', () => {
  const sql = auditSql('FROM public.t AS t WHERE t.id >= $1', 't.a IS DISTINCT FROM t.b', 't.a', 't.b');
  expect(sql).toBe(
    'SELECT pg_catalog.count(*) FILTER (WHERE t.a IS DISTINCT FROM t.b)::bigint AS differing, pg_catalog.count(*)::bigint AS rows, ' +
      'pg_catalog.count(t.a)::bigint AS source_non_null, pg_catalog.sum(pg_catalog.hashtextextended((t.a)::pg_catalog.text COLLATE pg_catalog."C", 0))::text AS source_checksum, ' +
      'pg_catalog.count(t.b)::bigint AS target_non_null, pg_catalog.sum(pg_catalog.hashtextextended((t.b)::pg_catalog.text COLLATE pg_catalog."C", 0))::text AS target_checksum ' +
      'FROM public.t AS t WHERE t.id >= $1',
  );
});

test('figures an earlier phasectl recorded (md5 checksums) are compared with newer ones by their counts only', () => {
  const older = { rows: '3', nonNull: '2', checksum: '999' };
  expect(auditMismatches('c', [figure(1, older, older, 'md5-60'), figure(3)])).toEqual([]);
  const fewer = { rows: '2', nonNull: '2', checksum: '999' };
  expect(auditMismatches('c', [figure(1, fewer, fewer, 'md5-60'), figure(3)])).toEqual([
    expect.stringMatching(/^the new column after phase 1 \(2 rows.* and after phase 3 \(3 rows.* differ/),
  ]);
});
