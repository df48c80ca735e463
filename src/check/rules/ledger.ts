import type { LedgerViolation } from '../../releases/rules.js';
import { locateFirst, type Locate, type Violation } from '../types.js';

/** Rules 1 (phases in order) and 2 (one phase per release): the ledger rules of src/releases, located in phases.yaml. */
export function ledgerRuleViolations(ledger: LedgerViolation[], phasesFile: string, locate: Locate): Violation[] {
  return ledger.map((violation) => ({
    rule: violation.rule,
    changeId: violation.changeId,
    file: phasesFile,
    ...locateFirst(locate, violation.path, violation.path.slice(0, -1), violation.path.slice(0, 2)),
    message: violation.message,
    fix: violation.hint,
  }));
}
