import { z } from 'zod';
import { InputError } from '../errors.js';
import type { BackfillPlan } from '../operations/types.js';
import type { MigrationHeader } from '../migration-file/header.js';

/**
 * The BackfillPlan of an `action=backfill|verify` step, written into its migration file as one JSON comment
 * line. phasectl's runner executes this plan, read from the file (whose checksum is recorded), never a plan
 * rebuilt from phases.yaml: an edit of phases.yaml after the file shipped cannot change what runs.
 */
const PLAN_LINE = '-- phasectl plan ';

/** The comment block appended to a backfill/verify file: one line for people, one JSON line for the runner. */
export function renderPlanComment(plan: BackfillPlan): string {
  // JSON.stringify escapes CR and LF (the only line ends of an SQL comment); U+2028/U+2029 for readers that split on them.
  const json = JSON.stringify(plan)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return (
    "\n-- What phasectl's runner executes for this step (its batched engine, instead of the block above):\n" +
    `${PLAN_LINE}${json}\n`
  );
}

const planSchema = z.looseObject({
  changeId: z.string(),
  direction: z.enum(['up', 'down']),
  table: z.object({ schema: z.string(), table: z.string() }),
  keyColumns: z.array(z.string()).min(1),
  keyTypes: z.array(z.string()).min(1),
  updateSql: z.string().min(1),
  countDifferentSql: z.string().min(1),
  suppressSetting: z.string().min(1),
  auditSql: z.string().min(1).optional(),
});

/**
 * The plan a migration file carries, or undefined when it carries none (written by an older phasectl).
 * A plan line that does not parse, or that belongs to another change or direction, is an error.
 */
export function readEmbeddedPlan(content: string, header: MigrationHeader, fileName: string): BackfillPlan | undefined {
  const lines = content.split('\n');
  const index = lines.findIndex((line) => line.startsWith(PLAN_LINE));
  if (index < 0) return undefined;
  const bad = (why: string) =>
    new InputError(`${fileName}: the phasectl plan line ${why}`, {
      location: { file: fileName, line: index + 1 },
      hint: 'restore the file from git (shipped migrations are never edited), or regenerate it with `phasectl generate` if it never shipped',
    });
  let parsed: unknown;
  try {
    parsed = JSON.parse(lines[index]!.slice(PLAN_LINE.length).replace(/\r$/, ''));
  } catch {
    throw bad('is not valid JSON');
  }
  const result = planSchema.safeParse(parsed);
  if (!result.success) throw bad('is not a backfill plan');
  const plan = result.data as BackfillPlan;
  if (
    plan.changeId !== header.changeId ||
    plan.direction !== header.direction ||
    plan.keyColumns.length !== plan.keyTypes.length
  ) {
    throw bad(`does not match the file's header (change ${header.changeId}, direction ${header.direction})`);
  }
  return plan;
}
