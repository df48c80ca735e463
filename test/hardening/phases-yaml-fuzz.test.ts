import fc from 'fast-check';
import { expect, test } from 'vitest';
import { formatError, InputError } from '../../src/errors.js';
import { parsePhasesText } from '../../src/spec/load.js';

/**
 * Fuzzing phases.yaml: whatever the text (random, YAML-shaped, or a valid file mutated), parsing either
 * succeeds or throws one InputError whose printed form points at phases.yaml:line[:column] and holds no
 * stack trace. Never a TypeError, never an unlocated message.
 */

const valid = `# phases.yaml — column changes that ship in three phases, one release each.
version: 1
releases: [1.4.0, 1.5.0]
check:
  sourceGlobs: ["src/**/*.ts"]
changes:
  - id: users-job-title-to-favourite-color
    rename:
      schema: public
      table: users
      from: job_title
      to: favourite_color
    column:
      type: text
      collation: '"pg_catalog"."C"'
      nullable: false
      default: "'unknown'::text"
      indexes:
        - { name: users_job_title_idx, unique: false, definition: "CREATE INDEX users_job_title_idx ON public.users USING btree (job_title)" }
      constraints:
        - { name: users_job_title_check, kind: check, definition: "CHECK ((length(job_title) < 200))" }
    key: { columns: [id], types: [bigint] }
    releases: { phase1: 1.4.0, phase2: 1.5.0 }
`;

/** Checks the contract for one input; returns whether it parsed. */
function parseOrExplain(text: string): boolean {
  try {
    parsePhasesText(text, 'phases.yaml');
    return true;
  } catch (error) {
    if (!(error instanceof InputError))
      throw new Error(`not an InputError for ${JSON.stringify(text)}: ${String(error)}`);
    const printed = formatError(error);
    expect(printed).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(error.hint, printed).toBeTruthy();
    if (text.trim() !== '')
      expect(printed, `input: ${JSON.stringify(text)}`).toMatch(/^error: phases\.yaml:\d+(:\d+)?: /);
    return false;
  }
}

const lines = valid.split('\n');

/** Mutations of the valid file: delete, duplicate or swap lines, change a value's type, insert tabs/unicode, truncate. */
const mutation = fc.oneof(
  fc.nat(lines.length - 1).map((i) => lines.filter((_, j) => j !== i).join('\n')),
  fc.nat(lines.length - 1).map((i) => [...lines.slice(0, i + 1), lines[i], ...lines.slice(i + 1)].join('\n')),
  fc.tuple(fc.nat(lines.length - 1), fc.nat(lines.length - 1)).map(([a, b]) => {
    const copy = [...lines];
    [copy[a], copy[b]] = [copy[b]!, copy[a]!];
    return copy.join('\n');
  }),
  fc
    .tuple(
      fc.nat(lines.length - 1),
      fc.constantFrom(
        '42',
        'true',
        'null',
        '[]',
        '{}',
        '~',
        '"x"',
        '1.4',
        '-1',
        "'",
        '[1, [2]]',
        '&a',
        '*a',
        '!!binary AA==',
        '\t',
        '🙂',
        'é\u0000',
      ),
    )
    .map(([i, value]) => lines.map((line, j) => (j === i ? line.replace(/:\s.*$/, `: ${value}`) : line)).join('\n')),
  fc
    .tuple(
      fc.nat(valid.length),
      fc.constantFrom(
        '\t',
        '\u00a0',
        '\ufeff',
        '\u2028',
        '日本',
        '"',
        "'",
        ':',
        '- ',
        '{',
        '[',
        '#',
        '\r\n',
        '\\',
        '%YAML 1.2\n---\n',
      ),
    )
    .map(([at, insert]) => valid.slice(0, at) + insert + valid.slice(at)),
  fc.nat(valid.length).map((at) => valid.slice(0, at)),
);

/** YAML-shaped values: random maps, lists and scalars, rendered as YAML text by hand (flow and block). */
const scalar = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('1.4.0', 'public', 'phase1', 'rename', 'version'),
);
const keyName = fc.oneof(
  fc.constantFrom('version', 'releases', 'changes', 'id', 'rename', 'column', 'key', 'phase1', 'schema', 'from', 'to'),
  fc.string({ minLength: 1, maxLength: 8 }),
);
const structure = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('list'), tie('map')),
  list: fc.array(tie('node'), { maxLength: 4 }),
  map: fc.dictionary(keyName, tie('node'), { maxKeys: 5 }),
})).node;

test('random text: one located InputError (random text never holds `version: 1`)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
      expect(parseOrExplain(text), JSON.stringify(text)).toBe(false);
    }),
    { numRuns: 200 },
  );
});

test('YAML-shaped documents: parsed, or one located InputError', () => {
  fc.assert(
    fc.property(structure, fc.boolean(), (value, flow) => {
      const text = flow ? `${JSON.stringify(value)}\n` : toBlockYaml(value, 0);
      // Only a map holding `version: 1` can be a phases.yaml.
      if (parseOrExplain(text)) expect(value, text).toMatchObject({ version: 1 });
      // A random value is never a whole change (id, rename, column, key of the right shapes).
      expect(parseOrExplain(`version: 1\nchanges:\n  - ${JSON.stringify(value)}\n`)).toBe(false);
    }),
    { numRuns: 150 },
  );
});

test('mutations of a valid file: parsed, or one located InputError', () => {
  expect(parseOrExplain(valid)).toBe(true);
  const outcomes = { parsed: 0, refused: 0 };
  fc.assert(
    fc.property(mutation, (text) => void (parseOrExplain(text) ? (outcomes.parsed += 1) : (outcomes.refused += 1))),
    { numRuns: 300 },
  );
  // Both outcomes occur: the mutations reach the validation, they do not all break the YAML (or all leave it valid).
  expect(outcomes.parsed).toBeGreaterThan(0);
  expect(outcomes.refused).toBeGreaterThan(0);
});

function toBlockYaml(value: unknown, indent: number): string {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value))
    return value.length === 0
      ? '[]\n'
      : value.map((item) => `${pad}- ${toBlockYaml(item, indent + 2).trimStart()}`).join('');
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}\n';
    return entries
      .map(([key, item]) =>
        item !== null && typeof item === 'object' && Object.keys(item).length > 0
          ? `${pad}${JSON.stringify(key)}:\n${toBlockYaml(item, indent + 2)}`
          : `${pad}${JSON.stringify(key)}: ${toBlockYaml(item, indent + 2).trimStart()}`,
      )
      .join('');
  }
  return `${JSON.stringify(value) ?? 'null'}\n`;
}

test('an alias without its anchor is an InputError with a line', () => {
  expect(parseOrExplain('version: *a\n')).toBe(false);
});

test('a file holding only comments is refused with a line number', () => {
  expect(parseOrExplain('# phases.yaml\n')).toBe(false);
});
