import { describe, expect, test } from 'vitest';
import { leafWalk, piecesOf } from '../../src/backfill/partitions.js';
import { retargetRelation } from '../../src/sql/relation-rewrite.js';
import { SqlParseError } from '../../src/sql/parser.js';
import { renamePlan } from '../support/fixtures-backfill.js';

const parent = { schema: 'public', table: 'events' };
const leaf = { schema: 'part', table: 'Events 2026"01' };

describe('retargetRelation', () => {
  test('points the UPDATE target at the leaf, the rest byte for byte', () => {
    const sql = `UPDATE "public"."events" AS t SET "b" = t."a" WHERE (t."id") >= ($1::bigint) AND t."b" IS DISTINCT FROM t."a"`;
    expect(retargetRelation(sql, parent, leaf)).toBe(
      `UPDATE "part"."Events 2026""01" AS t SET "b" = t."a" WHERE (t."id") >= ($1::bigint) AND t."b" IS DISTINCT FROM t."a"`,
    );
  });

  test('only the relation naming the parent: a joined table, a string and a column of that name stay', () => {
    const sql = `WITH p AS (SELECT s.id AS j1, s."v" AS value FROM public.events AS s JOIN "public"."profiles" AS t ON t.user_id = s.id WHERE s.note <> 'public.events' FOR SHARE OF s) UPDATE public.profiles AS t SET "v" = p.value FROM p WHERE t.user_id = p.j1`;
    const out = retargetRelation(sql, parent, leaf);
    expect(out).toContain(`FROM "part"."Events 2026""01" AS s JOIN "public"."profiles"`);
    expect(out).toContain(`'public.events'`);
    expect(out).toContain('UPDATE public.profiles AS t');
  });

  test('an unqualified mention of the parent cannot be pointed at the leaf: refused', () => {
    expect(() => retargetRelation('SELECT count(*) FROM events AS t', parent, leaf)).toThrow(SqlParseError);
    expect(() => retargetRelation('SELECT count(*) FROM public.other AS t', parent, leaf)).toThrow(SqlParseError);
  });

  test("a plan's three statements on a leaf", () => {
    const plan = {
      ...renamePlan('events'),
      auditSql: 'SELECT count(*) AS rows FROM public.events AS t WHERE t.id >= $1::bigint',
    };
    const walk = leafWalk(plan, leaf);
    expect(walk.plan.table).toEqual(leaf);
    for (const sql of [walk.plan.updateSql, walk.plan.countDifferentSql, walk.plan.auditSql!]) {
      expect(sql).toContain('"part"."Events 2026""01" AS t');
      expect(sql).not.toContain('public.events');
    }
    expect(walk.queries.maxKey).toContain('FROM "part"."Events 2026""01"');
    expect(leafWalk(plan, { ...leaf })).toBe(walk);
  });
});

test('piecesOf: a leaf is cut only when it holds two shares or more, at most one range per job', () => {
  expect(piecesOf(1000, 1000, 1)).toBe(1);
  expect(piecesOf(1900, 1000, 4)).toBe(1);
  expect(piecesOf(3500, 1000, 4)).toBe(3);
  expect(piecesOf(90_000, 1000, 4)).toBe(4);
  expect(piecesOf(0, 0, 4)).toBe(1);
});
