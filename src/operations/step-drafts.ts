import { renderTemplate } from '../render/environment.js';
import type { PhaseNumber } from '../spec/types.js';
import type { GenerationSettings } from './settings.js';
import type { BackfillPlan, Step, StepAction } from './types.js';

/** A step before rendering: which template, with what context, and how the runner treats it. */
export interface StepDraft {
  name: string;
  summary: string;
  transaction: boolean;
  action?: StepAction;
  backfill?: BackfillPlan;
  /** Uses the scan statement timeout (VALIDATE, CONCURRENTLY, backfill). */
  scan?: boolean;
  template: string;
  context: object;
}

/**
 * Renders the drafts of one (change, phase, direction) into steps numbered from 1, skipping the
 * `undefined` ones (steps a change does not need). `names` is the kind's shared template context.
 */
export function renderSteps(
  owner: { kind: string; changeId: string; names: object },
  phase: PhaseNumber,
  direction: 'up' | 'down',
  drafts: Array<StepDraft | undefined>,
  settings: GenerationSettings,
): Step[] {
  const present = drafts.filter((draft): draft is StepDraft => draft !== undefined);
  return present.map((draft, index) => {
    const timeouts = {
      lock: settings.lockTimeout,
      statement: draft.scan ? settings.scanStatementTimeout : settings.statementTimeout,
    };
    const sql = renderTemplate(
      owner.kind,
      draft.template,
      { ...owner.names, transaction: draft.transaction, timeouts, ...draft.context },
      settings.templatesDir,
    );
    const step: Step = {
      changeId: owner.changeId,
      phase,
      direction,
      order: index + 1,
      name: draft.name,
      summary: draft.summary,
      transaction: draft.transaction,
      action: draft.action ?? 'sql',
      // One blank line at most between statement groups (optional template parts leave gaps).
      sql: `${sql.replace(/\n{3,}/g, '\n\n').trimEnd()}\n`,
    };
    if (draft.backfill) step.backfill = draft.backfill;
    return step;
  });
}
