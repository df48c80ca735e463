import { InputError } from '../errors.js';
import { locateKey, type LoadedPhases } from '../spec/load.js';
import { ledgerViolations } from './rules.js';

/** Throws the first release-rule violation of a loaded phases.yaml as an InputError at the offending key. */
export function requireSoundLedger(loaded: LoadedPhases): void {
  const violations = ledgerViolations(loaded.spec);
  const first = violations[0];
  if (!first) return;
  const position = locateKey(loaded, first.path);
  const more = violations.length > 1 ? ` (and ${violations.length - 1} more)` : '';
  throw new InputError(`release rule ${first.rule} broken: ${first.message}${more}`, {
    hint: first.hint,
    location: { file: loaded.file, line: position?.line, column: position?.column },
  });
}
