import { z } from 'zod';
import { MAX_IDENTIFIER_BYTES, utf8Length } from './identifiers.js';
import { changeColumns } from './change-columns.js';
import { dependentFactsSchema, unifyDependents, viewRecordSchemas } from './dependents-schema.js';
import { firstNonPrinting, NON_PRINTING } from './name-guard.js';
import type { PhasesFile } from './types.js';
import { CHANGE_ID_PATTERN, MAX_CHANGE_ID_LENGTH } from './change-id.js';

/** Defaults of the `check:` section (docs/internals.md). */
export const DEFAULT_SOURCE_GLOBS = [
  '**/*.{ts,tsx,js,jsx,mjs,cjs,py,rb,go,java,kt,cs,php,ex,exs,rs,sql,graphql,prisma}',
];
export const DEFAULT_IGNORE_GLOBS = ['db/**', 'node_modules/**', 'phases.yaml'];

export { CHANGE_ID_PATTERN, MAX_CHANGE_ID_LENGTH } from './change-id.js';
export const RELEASE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Release names become part of file names (with the change id): keep them well below file-name limits. */
export const MAX_RELEASE_NAME_LENGTH = 64;

/**
 * The keys each object of phases.yaml accepts, by the name of the key that holds it
 * (`''` for the top level, `changes` for a change). Used for the schema and for "did you mean".
 */
export const KNOWN_KEYS = {
  '': ['version', 'releases', 'migrations', 'check', 'changes', 'archived'],
  migrations: ['format', 'templates', 'lockTimeout', 'statementTimeout'],
  check: ['sourceGlobs', 'ignoreGlobs'],
  changes: ['id', 'rename', 'move', 'column', 'key', 'target', 'dependents', 'releases'],
  archived: ['id', 'rename', 'move', 'column', 'key', 'target', 'dependents', 'releases'],
  dependents: ['views', 'generated', 'foreignKeys', 'functions', 'triggers'],
  triggers: ['name', 'definition'],
  foreignKeys: ['schema', 'table', 'name', 'definition'],
  functions: ['name', 'fingerprint', 'namesColumn', 'line', 'byPosition', 'wholeRow'],
  rename: ['schema', 'table', 'from', 'to', 'type', 'up', 'down', 'lossy', 'syncTrigger', 'partitioned'],
  move: ['from', 'to', 'on'],
  from: ['schema', 'table', 'column'],
  to: ['schema', 'table', 'column'],
  on: ['from', 'to'],
  target: ['existingColumn', 'uniqueIndex'],
  column: ['type', 'collation', 'nullable', 'default', 'indexes', 'constraints', 'views', 'generated'],
  views: ['schema', 'name', 'definition', 'options', 'fingerprint'],
  generated: ['name', 'expression'],
  indexes: ['name', 'definition', 'unique', 'constraint'],
  constraints: ['name', 'kind', 'definition'],
  key: ['columns', 'types'],
  releases: ['phase1', 'phase2', 'phase3'],
} as const;

/** The accepted keys of the object at `path` in phases.yaml (indices skipped), or undefined. */
export function knownKeysAt(path: readonly (string | number)[]): readonly string[] | undefined {
  const names = path.filter((part): part is string => typeof part === 'string');
  const holder = names.at(-1) ?? '';
  // The top-level `releases` is a list; only a change's `releases` is an object.
  if (holder === 'releases' && names.length === 1) return undefined;
  return (KNOWN_KEYS as Record<string, readonly string[]>)[holder];
}

const identifier = z
  .string()
  .min(1, 'must not be empty')
  .refine((name) => utf8Length(name) <= MAX_IDENTIFIER_BYTES, {
    message: `is longer than ${MAX_IDENTIFIER_BYTES} bytes, the longest name PostgreSQL keeps`,
  })
  // A line break or U+2028 in a name would end a comment of the generated SQL or JavaScript.
  .superRefine((name, context) => {
    if (!NON_PRINTING.test(name)) return;
    context.addIssue({
      code: 'custom',
      message: `contains a non-printing character (${firstNonPrinting(name)}: control, line/paragraph separator, format or unassigned)`,
      params: {
        hint: 'rename the object in the database to a name of printable characters (ALTER … RENAME), then plan again',
      },
    });
  });

const sqlText = z.string().min(1, 'must not be empty');

const releaseName = z
  .string()
  .regex(
    RELEASE_NAME_PATTERN,
    'is not a release name: use letters, digits, ".", "_" and "-", starting with a letter or digit',
  )
  .max(MAX_RELEASE_NAME_LENGTH, `is longer than ${MAX_RELEASE_NAME_LENGTH} characters`);

const changeId = z
  .string()
  .regex(
    CHANGE_ID_PATTERN,
    'is not a change id: use lower-case letters, digits and "-", starting with a letter or digit',
  )
  .max(MAX_CHANGE_ID_LENGTH, `is longer than ${MAX_CHANGE_ID_LENGTH} characters`);

const indexFact = z.strictObject({
  name: identifier,
  definition: sqlText,
  unique: z.boolean(),
  constraint: identifier.optional(),
});

const constraintFact = z.strictObject({
  name: identifier,
  kind: z.enum(['check', 'unique', 'foreign_key']),
  definition: sqlText,
});

const { viewFact, generatedColumnFact } = viewRecordSchemas(identifier, sqlText);

const columnFacts = z.strictObject({
  type: sqlText,
  collation: sqlText.optional(),
  nullable: z.boolean(),
  default: sqlText.optional(),
  indexes: z.array(indexFact).default([]),
  constraints: z.array(constraintFact).default([]),
  // Where older files recorded them; read and moved under `dependents:` (unifyDependents).
  views: z.array(viewFact).optional(),
  generated: z.array(generatedColumnFact).optional(),
});

const keyFacts = z
  .strictObject({
    columns: z.array(identifier).min(1, 'must name at least one column'),
    types: z.array(sqlText),
  })
  .refine((key) => key.columns.length === key.types.length, {
    message: 'key.types must give one type per key column',
    path: ['types'],
    params: { hint: 'list the type of each key column, in the same order as key.columns' },
  });

const renameTarget = z
  .strictObject({
    schema: identifier,
    table: identifier,
    from: identifier,
    to: identifier,
    type: sqlText.optional(),
    up: sqlText.optional(),
    down: sqlText.optional(),
    lossy: z.literal(true).optional(),
    // Dropped by phase 3: only a name phasectl chose (`zzz_phasectl_sync_…`), never one of the application's triggers.
    syncTrigger: identifier
      // SYNC_TRIGGER_NAME_PATTERN of src/operations/naming.ts, then only what plan writes (its companions' names
      // sort after it: companionAfter).
      .refine((name) => /^zz+_phasectl_sync_[a-z0-9_]+$/.test(name), {
        message: 'is not a phasectl sync trigger name (zz…_phasectl_sync_…, lower-case letters, digits and _)',
        params: { hint: 'written by `phasectl plan`; remove it to use the default name, or plan again' },
      })
      .optional(),
    // Written by `plan`: the table is partitioned (indexes are built per partition, src/operations/partitioned-indexes.ts).
    partitioned: z.literal(true).optional(),
  })
  .refine((rename) => rename.to !== rename.from, {
    message: '`to` is the same name as `from`',
    path: ['to'],
    params: { hint: 'choose a new column name that differs from `from`' },
  });

/** `views` (or `generated`) both under `column:` (older files) and `dependents:`: which one holds is unclear. */
function refuseViewsRecordedTwice(
  change: { column: { views?: unknown; generated?: unknown }; dependents?: { views?: unknown; generated?: unknown } },
  context: z.RefinementCtx,
): void {
  for (const key of ['views', 'generated'] as const) {
    if (change.column[key] === undefined || change.dependents?.[key] === undefined) continue;
    context.addIssue({
      code: 'custom',
      message: `\`${key}\` is recorded both under \`column:\` and under \`dependents:\``,
      path: ['column', key],
      params: { hint: `keep the one under \`dependents:\` (or run \`phasectl plan refresh\` to read them again)` },
    });
  }
}

const phaseReleases = z.strictObject({
  phase1: releaseName.optional(),
  phase2: releaseName.optional(),
  phase3: releaseName.optional(),
});

const renameChange = z
  .strictObject({
    id: changeId,
    rename: renameTarget,
    column: columnFacts,
    key: keyFacts,
    dependents: dependentFactsSchema(identifier, sqlText).optional(),
    releases: phaseReleases.default({}),
  })
  .superRefine(refuseViewsRecordedTwice)
  .transform((change) => ({ kind: 'rename' as const, ...unifyDependents(change) }));

const columnRef = z.strictObject({ schema: identifier, table: identifier, column: identifier });

const moveTarget = z
  .strictObject({
    from: columnRef,
    to: columnRef,
    on: z
      .array(z.strictObject({ from: identifier, to: identifier }))
      .min(1, 'must name at least one pair of join columns'),
  })
  .refine((move) => move.from.schema !== move.to.schema || move.from.table !== move.to.table, {
    message: '`to` is on the same table as `from`: that is a rename',
    path: ['to', 'table'],
    params: { hint: 'use `rename: { schema, table, from, to }` to rename a column inside one table' },
  });

const moveChange = z
  .strictObject({
    id: changeId,
    move: moveTarget,
    column: columnFacts,
    key: keyFacts,
    target: z
      .strictObject({ existingColumn: z.boolean().default(false), uniqueIndex: identifier.optional() })
      .default({ existingColumn: false }),
    dependents: dependentFactsSchema(identifier, sqlText).optional(),
    releases: phaseReleases.default({}),
  })
  .superRefine(refuseViewsRecordedTwice)
  .transform((change) => ({ kind: 'move' as const, ...unifyDependents(change) }));

/** A change has no `kind` key in YAML: a `move:` key makes it a move, anything else is read as a rename. */
const anyChange = z.custom<unknown>().transform((value, context) => {
  const schema = value !== null && typeof value === 'object' && 'move' in value ? moveChange : renameChange;
  const result = schema.safeParse(value);
  if (!result.success) {
    for (const issue of result.error.issues) context.addIssue(issue as Parameters<typeof context.addIssue>[0]);
    return z.NEVER;
  }
  return result.data as z.output<typeof renameChange> | z.output<typeof moveChange>;
});

const checkSettings = z.strictObject({
  sourceGlobs: z.array(z.string().min(1)).default(DEFAULT_SOURCE_GLOBS),
  ignoreGlobs: z.array(z.string().min(1)).default(DEFAULT_IGNORE_GLOBS),
});

/** Bounds of the `migrations:` timeouts written into every generated file, in milliseconds (never 0: no timeout at all). */
export const TIMEOUT_BOUNDS = {
  lockTimeout: { min: 1, max: 600_000, example: '2s' },
  statementTimeout: { min: 1_000, max: 86_400_000, example: '30s' },
} as const;

const DURATION_UNITS_MS = { ms: 1, s: 1_000, min: 60_000, h: 3_600_000 } as const;

/** `500ms`, `2s`, `1min`, `1h` in milliseconds, or undefined when `text` is not such a duration. */
export function durationMs(text: string): number | undefined {
  const match = /^(0|[1-9][0-9]{0,8})(ms|s|min|h)$/.exec(text);
  return match ? Number(match[1]) * DURATION_UNITS_MS[match[2] as keyof typeof DURATION_UNITS_MS] : undefined;
}

/** A PostgreSQL duration (as SET lock_timeout accepts it) within `bounds`. */
function duration(bounds: { min: number; max: number; example: string }) {
  const range = `${bounds.min}ms to ${bounds.max / 1000}s`;
  return z.string().superRefine((text, context) => {
    const ms = durationMs(text);
    if (ms !== undefined && ms >= bounds.min && ms <= bounds.max) return;
    context.addIssue({
      code: 'custom',
      message:
        ms === undefined
          ? `"${text}" is not a duration (a whole number with ms, s, min or h)`
          : `${text} is outside ${range}`,
      params: { hint: `write a duration from ${range}, e.g. ${bounds.example}` },
    });
  });
}

/** The whole file, validated: shape first, then the rules that span changes. */
export const phasesFileSchema = z
  .strictObject({
    version: z.literal(1, 'must be 1 (the only phases.yaml version this phasectl reads)'),
    releases: z.array(releaseName).default([]),
    migrations: z
      .strictObject({
        format: z.enum(['sql', 'kysely', 'db-migrate']).default('sql'),
        templates: z.string().min(1, 'must name a folder').optional(),
        lockTimeout: duration(TIMEOUT_BOUNDS.lockTimeout).optional(),
        statementTimeout: duration(TIMEOUT_BOUNDS.statementTimeout).optional(),
      })
      .default({ format: 'sql' }),
    check: checkSettings.default({ sourceGlobs: DEFAULT_SOURCE_GLOBS, ignoreGlobs: DEFAULT_IGNORE_GLOBS }),
    changes: z.array(anyChange).default([]),
    // Changes retired by `phasectl archive` (phase 3 shipped): still generated and checked, no longer in flight.
    archived: z.array(anyChange).default([]),
  })
  .superRefine((file, context) => {
    for (const issue of fileRuleIssues(file)) context.addIssue({ ...issue });
  });

/** A problem with the file as a whole (a rule that spans releases or changes), as the schema reports it. */
export interface FileRuleIssue {
  code: 'custom';
  path: (string | number)[];
  message: string;
  params: { hint: string };
}

/**
 * The rules that span the whole file (a release listed twice, a change id used twice, two changes of one
 * column or one new name), in the order the schema reports them. Linear in the number of changes; also used
 * by `src/spec/edit.ts` to re-check an edited file without parsing it again.
 */
export function fileRuleIssues(file: Pick<PhasesFile, 'releases' | 'changes' | 'archived'>): FileRuleIssue[] {
  const issues: FileRuleIssue[] = [];
  const seenReleases = new Map<string, number>();
  file.releases.forEach((release, index) => {
    if (seenReleases.has(release)) {
      issues.push({
        code: 'custom',
        path: ['releases', index],
        message: `release ${release} is listed twice`,
        params: { hint: 'remove the second entry: each release appears once, in order' },
      });
    }
    seenReleases.set(release, index);
  });
  const ids = new Map<string, number>();
  const columns = new Map<string, number>();
  const targets = new Map<string, number>();
  file.changes.forEach((change, index) => {
    const earlier = ids.get(change.id);
    if (earlier !== undefined) {
      issues.push({
        code: 'custom',
        path: ['changes', index, 'id'],
        message: `change id "${change.id}" is already used by changes[${earlier}]`,
        params: { hint: 'give this change another id: ids are unique' },
      });
    } else ids.set(change.id, index);
    const columnsOfChange = changeColumns(change);
    const { schema, table, column: from } = columnsOfChange.source;
    const { schema: toSchema, table: toTable, column: to } = columnsOfChange.target;
    const spelled = change.kind === 'rename' ? 'rename' : 'move';
    const source = JSON.stringify([schema, table, from]);
    const target = JSON.stringify([toSchema, toTable, to]);
    const sameColumn = columns.get(source) ?? targets.get(source);
    if (sameColumn !== undefined) {
      issues.push({
        code: 'custom',
        path: ['changes', index, spelled, 'from'],
        message: `column ${from} of ${schema}.${table} is already changed by "${file.changes[sameColumn]?.id}"`,
        params: { hint: 'finish the earlier change first (advance it to phase 3), then plan this one' },
      });
    }
    const sameTarget = targets.get(target) ?? columns.get(target);
    if (sameTarget !== undefined) {
      issues.push({
        code: 'custom',
        path: ['changes', index, spelled, 'to'],
        message: `column name ${to} on ${toSchema}.${toTable} is already used by change "${file.changes[sameTarget]?.id}"`,
        params: { hint: 'choose another new column name' },
      });
    }
    columns.set(source, index);
    targets.set(target, index);
  });
  // Archived changes keep their ids (their files are named after them); their columns are free for new changes.
  (file.archived ?? []).forEach((change, index) => {
    const earlier = ids.get(change.id);
    if (earlier !== undefined) {
      issues.push({
        code: 'custom',
        path: ['archived', index, 'id'],
        message: `change id "${change.id}" is already used by ${earlier >= 0 ? `changes[${earlier}]` : `archived[${-1 - earlier}]`}`,
        params: { hint: 'ids are unique across `changes:` and `archived:`: give the live change another id' },
      });
    } else ids.set(change.id, -1 - index);
  });
  return issues;
}

/** One change as phases.yaml holds it (no `kind` key), validated alone: what `changes[i]` must satisfy. */
export const changeSchema = anyChange;

/** A name in the top-level `releases:` list. */
export const releaseNameSchema = releaseName;

/** Compile-time proof that the schema's output is the documented shape. */
type Output = z.output<typeof phasesFileSchema>;
const _shapeMatches: (value: Output) => PhasesFile = (value) => value;
void _shapeMatches;
