import { InputError } from '../errors.js';

/** C0 control characters and DEL: a line break in a name would end a `--` comment of the generated SQL. */
const controlCharacter = /[\u0000-\u001f\u007f]/;

/**
 * Refuses names holding control characters. Names appear (quoted) in the SQL comments that explain each step,
 * and a line break there would turn the rest of the name into SQL: refusing is the only safe reading.
 * `names` pairs a role ("table", "index" …) with the name.
 */
export function refuseControlCharacters(names: Array<[string, string]>, where: string): void {
  for (const [role, name] of names) {
    if (controlCharacter.test(name)) {
      throw new InputError(`${where.replace(/[\u0000-\u001f\u007f]/g, '?')}: the ${role} name ${JSON.stringify(name)} contains a control character (line break, tab, …)`, {
        hint: 'rename that object to a name without control characters first (ALTER … RENAME), then plan again',
      });
    }
  }
}
