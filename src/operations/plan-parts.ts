/**
 * Pieces every change kind builds its templates' context from: index and constraint plans, the
 * readings of pg_get_constraintdef text they need, and the record-phase context.
 */
import type { PhaseReleases } from '../spec/types.js';

/** An index to build: `CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS <name> ON <on>`. */
export interface IndexPlan {
  name: string;
  unique: boolean;
  on: string;
  /** The index as pg_get_indexdef prints it: an index found under this name must read exactly so. */
  definition: string;
  comment: string;
  /** The index whose comment (COMMENT ON INDEX) this one gets, read when the step runs: copy-object-comment.hbs. */
  commentFrom?: CommentSource;
}

/** Where an index or constraint takes its comment from: pg_get_indexdef / pg_get_constraintdef do not print it. */
export type CommentSource =
  { index: true; schema: string; name: string } | { index: false; schema: string; table: string; name: string };

/** A constraint to add with the guarded `ALTER TABLE … ADD CONSTRAINT <name> <definition>`. */
export interface ConstraintPlan {
  name: string;
  definition: string;
  /** What pg_get_constraintdef may print for it: a constraint found under this name must read one of these. */
  accepted: string[];
  comment: string;
  /** False when the original was NOT VALID itself: validating the copy could fail and would change the schema. */
  validate: boolean;
  /** The constraint whose comment this one gets (copy-object-comment.hbs). */
  commentFrom?: CommentSource;
}

/** Splits `… NOT VALID` off a pg_get_constraintdef text. */
export function withoutNotValid(definition: string): { body: string; wasValid: boolean } {
  const match = /\s+NOT\s+VALID\s*$/i.exec(definition);
  return match
    ? { body: definition.slice(0, match.index), wasValid: false }
    : { body: definition.trim(), wasValid: true };
}

/** ` DEFERRABLE INITIALLY DEFERRED` etc. at the end of a UNIQUE definition, kept on `UNIQUE USING INDEX`. */
export function deferrability(definition: string): string {
  const match = /\s((?:NOT\s+)?DEFERRABLE(?:\s+INITIALLY\s+(?:DEFERRED|IMMEDIATE))?)\s*$/i.exec(definition);
  return match ? ` ${match[1]}` : '';
}

/** The context of the validate template for these constraints. */
export function validations(constraints: ConstraintPlan[]): Array<{ name: string; comment: string }> {
  return constraints.map((constraint) => ({
    name: constraint.name,
    comment: `Validate ${constraint.name} (existing rows).`,
  }));
}

/** `{ phase, release }` for the record-phase partial. */
export function record(
  releases: PhaseReleases,
  phase: 1 | 2 | 3,
): { record: { phase: number; release: string | null } } {
  return { record: { phase, release: releases[`phase${phase}`] ?? null } };
}
