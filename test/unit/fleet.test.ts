import { describe, expect, test } from 'vitest';
import { parseFleetText } from '../../src/fleet/fleet-file.js';
import { heldPhaseThrees, heldWithin, passLimit } from '../../src/fleet/guard.js';
import { runPool } from '../../src/fleet/pool.js';
import { summarize, type FleetTargetResult } from '../../src/fleet/summary.js';
import { namePattern } from '../../src/fleet/targets.js';
import { passwordWrittenIn } from '../../src/fleet/variables.js';
import type { Change } from '../../src/spec/types.js';

const env = {
  MAIN: 'postgres://app:s3cret@db1:5432/app',
  PW: 's3cret',
  SERVER: 'postgres://app@db2/postgres',
  EMPTY: '',
};

describe('fleet file', () => {
  test('named and discovered targets, variables expanded, concurrency', () => {
    const fleet = parseFleetText(
      'concurrency: 3\ntargets:\n  - name: main\n    url: ${MAIN}\n  - discover: ${SERVER}\n    databases: tenant_*\n    prefix: eu-\n',
      'fleet.yaml',
      env,
    );
    expect(fleet.concurrency).toBe(3);
    expect(fleet.entries).toMatchObject([
      { kind: 'named', name: 'main', url: env.MAIN, location: { file: 'fleet.yaml', line: 3, column: 5 } },
      { kind: 'discover', serverUrl: env.SERVER, pattern: 'tenant_*', prefix: 'eu-' },
    ]);
  });

  test('a password from a variable is accepted; one written in the file is not', () => {
    expect(
      parseFleetText('targets:\n  - name: a\n    url: postgres://app:${PW}@db/app\n', 'f.yaml', env).entries[0],
    ).toMatchObject({ url: 'postgres://app:s3cret@db/app' });
    expect(passwordWrittenIn('postgres://app:x@db/app')).toBe(true);
    expect(passwordWrittenIn('postgres://db/app?sslmode=require&password=x')).toBe(true);
    expect(passwordWrittenIn('postgres://app@db/app?password=${PW}')).toBe(false);
    expect(passwordWrittenIn('postgres://app@db/app')).toBe(false);
    expect(passwordWrittenIn('${MAIN}')).toBe(false);
  });

  test.each([
    ['targets:\n  - name: a\n    url: ${EMPTY}\n', /environment variable EMPTY is empty/],
    ['targets:\n  - name: a\n    url: ${1BAD}\n', /"\$\{1BAD\}" is not an environment variable name/],
    ['targets:\n  - name: a\n    url: ${MAIN\n', /without its closing/],
    ['targets:\n  - name: a\n', /missing key "url" in targets\[0\]/],
    ['targets: []\n', /targets must list at least one target/],
    ['concurrency: 0\ntargets:\n  - name: a\n    url: ${MAIN}\n', /concurrency/],
    ['targets:\n  - discover: ${SERVER}\n    databases: t*\n    url: x\n', /unknown key "url" in targets\[0\]/],
    ['targets:\n  - name: a\n    url: [x\n', /not valid YAML/],
  ])('refused: %s', (text, message) => {
    expect(() => parseFleetText(text, 'f.yaml', env)).toThrow(message);
  });
});

test('name patterns are globs over whole names: "_" is literal (unlike LIKE)', () => {
  const matches = namePattern('tenant_*');
  expect(['tenant_1', 'tenant_', 'tenant_a.b'].every(matches)).toBe(true);
  expect(['tenants_1', 'xtenant_1', 'tenant'].some(matches)).toBe(false);
  expect(namePattern('db?')('db1')).toBe(true);
  expect(namePattern('db?')('db12')).toBe(false);
  expect(namePattern('a.b')('axb')).toBe(false);
});

const change = (id: string, phase3?: string) =>
  ({ id, releases: { phase1: '1', phase2: '2', ...(phase3 ? { phase3 } : {}) } }) as unknown as Change;

describe('fleet-wide guard', () => {
  test('phase 3 is held while a target is below phase 2 or unknown; not once all have phase 2', () => {
    const held = heldPhaseThrees(
      [change('a', '3')],
      [
        { target: 't1', phases: new Map([['a', 2]]) },
        { target: 't2', phases: new Map([['a', 1]]) },
        { target: 't3', phases: null, reason: 'unreachable' },
      ],
    );
    expect(held).toEqual([
      {
        changeId: 'a',
        release: '3',
        behind: [
          { target: 't2', phase: 1 },
          { target: 't3', phase: null, reason: 'unreachable' },
        ],
      },
    ]);
    expect(
      heldPhaseThrees(
        [change('a', '3')],
        [
          { target: 't1', phases: new Map([['a', 2]]) },
          { target: 't2', phases: new Map([['a', 3]]) },
        ],
      ),
    ).toEqual([]);
    expect(heldPhaseThrees([change('a')], [{ target: 't1', phases: new Map() }])).toEqual([]);
    // A new database (phase 0) joining a fleet that finished: it catches up to phase 2 first.
    expect(
      heldPhaseThrees(
        [change('a', '3')],
        [
          { target: 'old', phases: new Map([['a', 3]]) },
          { target: 'new', phases: new Map() },
        ],
      )[0]?.behind,
    ).toEqual([{ target: 'new', phase: 0 }]);
  });

  test('a pass stops at the release before the earliest held phase 3, or at --to-release when earlier', () => {
    const releases = ['1', '2', '3', '4'];
    expect(passLimit(releases, [], undefined)).toBeUndefined();
    expect(passLimit(releases, [], '3')).toBe('3');
    expect(passLimit(releases, [{ changeId: 'a', release: '3', behind: [] }], undefined)).toBe('2');
    expect(passLimit(releases, [{ changeId: 'a', release: '4', behind: [] }], '2')).toBe('2');
  });

  test('a phase 3 after --to-release holds nothing (it is not part of the run)', () => {
    const releases = ['1', '2', '3', '4'];
    const held = [
      { changeId: 'a', release: '3', behind: [] },
      { changeId: 'b', release: '4', behind: [] },
    ];
    expect(heldWithin(releases, held, undefined)).toEqual(held);
    expect(heldWithin(releases, held, '4')).toEqual(held);
    expect(heldWithin(releases, held, '3')).toEqual([held[0]]);
    expect(heldWithin(releases, held, '2')).toEqual([]);
  });
});

test('the pool runs at most N at a time, in order, and starts nothing once told to stop', async () => {
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  await runPool([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    running++;
    peak = Math.max(peak, running);
    order.push(n);
    await new Promise((r) => setTimeout(r, 5));
    running--;
  });
  expect(peak).toBe(3);
  expect(order).toEqual([1, 2, 3, 4, 5, 6, 7]);
  let failed = false;
  const results = await runPool(
    [1, 2, 3, 4],
    1,
    async (n) => ((failed = n === 2), n),
    () => failed,
  );
  expect(results).toEqual([1, 2, undefined, undefined]);
});

test('the safe-to-deploy line', () => {
  const row = (target: string, outcome: FleetTargetResult['outcome']): FleetTargetResult => ({
    target,
    where: 'h:5432/d',
    outcome,
    applied: 0,
    releaseReached: null,
    pending: 0,
    backfill: '-',
    durationMs: 0,
  });
  expect(summarize('1.5.0', [row('a', 'migrated'), row('b', 'up-to-date')]).line).toBe(
    'release 1.5.0 applied on 2 of 2 targets: safe to deploy 1.5.0',
  );
  const partial = summarize('1.5.0', [row('a', 'migrated'), row('b', 'failed'), row('c', 'held')]);
  expect(partial).toMatchObject({ safeToDeploy: false, upToDate: 1 });
  expect(partial.line).toBe(
    'release 1.5.0 applied on 1 of 3 targets: NOT safe to deploy 1.5.0; held back by b (failed), c (held)',
  );
});

test('two targets that are one database are refused before anything runs; socket paths are not compared', async () => {
  const { resolveTargets } = await import('../../src/fleet/targets.js');
  const named = (name: string, url: string) => ({
    kind: 'named' as const,
    name,
    url,
    location: { file: 'f.yaml', line: 1 },
  });
  await expect(
    resolveTargets({
      file: 'f.yaml',
      entries: [named('a', 'postgres://app@db:5432/app'), named('b', 'postgres://other@DB/app')],
    }),
  ).rejects.toThrow(/targets "a" and "b" are the same database/);
  await expect(
    resolveTargets({ file: 'f.yaml', entries: [named('a', '/var/run/postgresql'), named('b', '/tmp')] }),
  ).resolves.toMatchObject({ targets: [{ name: 'a' }, { name: 'b' }] });
  await expect(resolveTargets({ file: 'f.yaml', entries: [named('a', 'mysql://db/app')] })).rejects.toThrow(
    /is not a PostgreSQL URL/,
  );
});
