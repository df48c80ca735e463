/**
 * `npm run bench [-- --quick] [-- --database-url <url>] [-- --only backfill,writes,instructions,locks,tooling,scale,parallel,fleet,partitioned] [-- --scale-rows 1000000,4000000,16000000]`
 *
 * Runs every benchmark on an embedded PostgreSQL 17 started with durable settings (or on the server at
 * --database-url, in fresh databases it creates and drops), prints one table — phasectl's figure, the
 * baseline, the ratio, the target, PASS/MISS — and writes the same to bench/results.json.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { redactUrl } from '../src/db/url.js';
import { benchBackfill, phasectlPhase1 } from './backfill-throughput.js';
import { benchLocks } from './lock-footprint.js';
import { benchParallel } from './parallel-backfill.js';
import { benchPartitioned } from './partitioned-backfill.js';
import { checked, formatTable, info, writeResults, type BenchRow } from './report.js';
import { openBenchServer, serverSettings } from './server.js';
import { benchTooling } from './tooling-scale.js';
import { benchWriteOverhead } from './write-overhead.js';
import { benchWriteInstructions } from './write-instructions.js';
import { benchFleet } from './fleet-scale.js';

const SECTIONS = [
  'backfill',
  'writes',
  'instructions',
  'locks',
  'tooling',
  'scale',
  'parallel',
  'fleet',
  'partitioned',
] as const;
type Section = (typeof SECTIONS)[number];

/** Sizes per mode. Full: the brief's 1M-row table; 16M rows is opt-in (`--scale-rows`: several minutes more, see docs/benchmarks.md). */
const MODES = {
  quick: {
    fleetDatabases: 10,
    fleetRows: 10_000,
    backfillRows: 100_000,
    scaleRows: [100_000, 200_000],
    writeRows: 100_000,
    writeSeconds: 1,
    writeRounds: 2,
    durableInserts: false,
    lockRows: 100_000,
    partitionedRows: 200_000,
  },
  full: {
    fleetDatabases: 40,
    fleetRows: 50_000,
    backfillRows: 1_000_000,
    scaleRows: [1_000_000, 4_000_000],
    writeRows: 1_000_000,
    writeSeconds: 4,
    writeRounds: 5,
    durableInserts: true,
    lockRows: 1_000_000,
    partitionedRows: 4_000_000,
  },
};

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'database-url': { type: 'string' },
    only: { type: 'string' },
    'scale-rows': { type: 'string' },
    output: { type: 'string', default: fileURLToPath(new URL('./results.json', import.meta.url)) },
  },
});
const mode = values.quick ? 'quick' : 'full';
const scaleRows = values['scale-rows']?.split(',').map((text) => {
  const count = Number(text.replace(/_/g, ''));
  if (!Number.isInteger(count) || count < 1000)
    throw new Error(`--scale-rows: "${text}" is not a row count of at least 1000`);
  return count;
});
const sizes = { ...MODES[mode], ...(scaleRows ? { scaleRows } : {}) };
const only = new Set<Section>((values.only ? values.only.split(',') : SECTIONS) as Section[]);
for (const name of only)
  if (!SECTIONS.includes(name)) throw new Error(`--only: unknown section "${name}" (one of ${SECTIONS.join(', ')})`);

const log = (line: string) => process.stderr.write(`[bench] ${Math.round(since(started) / 1000)} s: ${line}\n`);
const started = performance.now();
const server = await openBenchServer(values['database-url'] ?? process.env.PHASECTL_BENCH_DATABASE_URL);
const rows: BenchRow[] = [];
const extra: Record<string, unknown> = {};
try {
  const settings = await serverSettings(server.url);
  log(
    `${server.embedded ? 'embedded PostgreSQL' : redactUrl(server.url)}: ${Object.entries(settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
  );
  let oneMillion: Awaited<ReturnType<typeof phasectlPhase1>> | undefined;
  if (only.has('backfill')) {
    log(`backfill throughput on ${sizes.backfillRows} rows (single UPDATE, phasectl, hand-written batches)`);
    const result = await benchBackfill(server.url, sizes.backfillRows);
    rows.push(...result.rows);
    oneMillion = result.phasectl;
  }
  if (only.has('writes')) {
    log(
      `write overhead (${sizes.writeRows} rows, ${sizes.writeRounds} rounds of no trigger / phasectl / floor, ${sizes.writeSeconds} s each, per workload)`,
    );
    const result = await benchWriteOverhead(server.url, {
      rows: sizes.writeRows,
      seconds: sizes.writeSeconds,
      rounds: sizes.writeRounds,
      durableInserts: sizes.durableInserts,
    });
    extra.loadGenerator = result.tool;
    rows.push(...result.rows.map((row) => ({ ...row, note: `${row.note}; ${result.tool}` })));
  }
  if (only.has('instructions')) {
    log('instructions per write (valgrind, single-user backend)');
    rows.push(...(await benchWriteInstructions(server.url)));
  }
  if (only.has('locks')) {
    log(`lock footprint (${sizes.lockRows} rows)`);
    rows.push(...(await benchLocks(server.url, { rows: sizes.lockRows, blockedRows: 10_000 })));
  }
  if (only.has('tooling')) {
    log('tooling scale (plan, generate, check)');
    rows.push(...(await benchTooling(1000)));
  }
  if (only.has('scale')) {
    const section = '4. backfill cost vs. rows (backfill step of phase 1)';
    const points: { rows: number; perSecond: number }[] = [];
    for (const count of sizes.scaleRows) {
      log(`backfill scale: ${count} rows`);
      const run = count === oneMillion?.rows ? oneMillion : await phasectlPhase1(server.url, count);
      points.push({ rows: count, perSecond: (count * 1000) / run.backfillMs });
    }
    const first = points[0]!.perSecond;
    for (const point of points) {
      const ratio = point.perSecond / first;
      const row = {
        section,
        metric: `${point.rows.toLocaleString('en-US')} rows`,
        value: point.perSecond,
        unit: 'rows/s',
        baseline: first,
        baselineLabel: 'smallest table',
        ratio,
      };
      rows.push(point === points[0] ? info(row) : checked({ ...row, target: '≥ 0.80 (flat)' }, ratio >= 0.8));
    }
  }
  if (only.has('parallel')) {
    log(`parallel backfill on ${sizes.backfillRows} rows (--jobs 1, 2, 4; one UPDATE with and without the trigger)`);
    rows.push(...(await benchParallel(server.url, sizes.backfillRows)));
  }
  if (only.has('fleet')) {
    log(`fleet: phase 1 on ${sizes.fleetDatabases} databases of ${sizes.fleetRows} rows, concurrency 1, 2, 4`);
    rows.push(...(await benchFleet(server.url, { databases: sizes.fleetDatabases, rows: sizes.fleetRows, log })));
  }
  if (only.has('partitioned')) {
    log(`partitioned backfill: ${sizes.partitionedRows} rows in 24 range partitions + DEFAULT, beside one table`);
    rows.push(...(await benchPartitioned(server.url, sizes.partitionedRows)));
  }
  const seconds = since(started) / 1000;
  const run = {
    date: new Date().toISOString(),
    mode,
    commit: gitCommit(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    },
    server: { embedded: server.embedded, settings },
    seconds: Math.round(seconds),
    ...extra,
  };
  console.log(
    `phasectl benchmarks — ${mode} run, ${run.machine.cpus} CPUs (${run.machine.cpuModel}), Node ${process.version}`,
  );
  console.log(
    `PostgreSQL ${settings.server_version} (${server.embedded ? 'embedded, started by the bench' : 'given by --database-url'}): ${Object.entries(
      settings,
    )
      .filter(([k]) => k !== 'server_version')
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
  );
  if (extra.loadGenerator) console.log(`write load: ${String(extra.loadGenerator)}`);
  console.log(formatTable(rows));
  const missed = rows.filter((row) => row.status === 'MISS').length;
  console.log(
    `\n${rows.filter((row) => row.status === 'PASS').length} PASS, ${missed} MISS, ${rows.filter((row) => row.status === 'INFO').length} INFO in ${Math.round(seconds)} s; results in ${values.output}`,
  );
  await writeResults(values.output!, run, rows);
} finally {
  await server.stop();
}

function since(from: number): number {
  return performance.now() - from;
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}
