#!/usr/bin/env node
// Template guard mutation: removes each safety guard from templates/ in turn, in a temporary copy of the
// repository, and expects at least one test to fail. A guard that survives has no test that needs it.
//
// A guard is discovered, not listed: every `IF … END IF;` inside a `DO {{#dollarQuote …}}` block that
// contains RAISE EXCEPTION. Mutants per guard:
//   remove     the whole IF … END IF (the guard never refuses);
//   drop term  one `AND` term of a WHERE/ON clause in an `IF NOT EXISTS (…)` condition: the guard then
//              accepts rows it should not (in an `IF EXISTS` refusal, dropping a term only refuses more);
//   unlink     a `{{> partial}}` line whose partial is nothing but guards (one template stops including it).
// Each mutant is rendered first (`phasectl generate --check` on this repository's example must still render),
// then the selected tests run with --bail=1 against one PostgreSQL started here. A test that kills a mutant
// is re-run once on the unmutated templates: it must pass there, or the kill proves nothing.
//
// Usage: node scripts/template-guard-mutation.mjs [--list] [--only <text>] [--tests <path>]... [--max-workers <n>]
//        [--report <file.json>] [--keep]
// Exit 0 when every mutant is killed, 1 when one survives (or a kill is invalid), 2 on bad usage.
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const DEFAULT_TESTS = ['test/integration', 'test/hardening', 'test/e2e'];
// The demo renders none of templates/: it cannot kill a template mutant and only costs time.
const EXCLUDED_TESTS = ['test/e2e/demo-cli.test.ts', 'test/integration/demo-run.test.ts'];

function parseArgs(argv) {
  const options = { list: false, only: [], tests: [], maxWorkers: 2, report: undefined, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) usage(`${arg} needs a value`);
      return next;
    };
    if (arg === '--list') options.list = true;
    else if (arg === '--keep') options.keep = true;
    else if (arg === '--only') options.only.push(value());
    else if (arg === '--tests') options.tests.push(value());
    else if (arg === '--report') options.report = value();
    else if (arg === '--max-workers') options.maxWorkers = Number(value());
    else usage(`unknown argument ${arg}`);
  }
  if (!Number.isInteger(options.maxWorkers) || options.maxWorkers < 1) usage('--max-workers takes a positive integer');
  if (options.tests.length === 0) options.tests = DEFAULT_TESTS;
  return options;
}

function usage(message) {
  process.stderr.write(`template-guard-mutation: ${message}\n`);
  process.stderr.write(
    'usage: node scripts/template-guard-mutation.mjs [--list] [--only <text>] [--tests <path>]... [--max-workers <n>] [--report <file.json>] [--keep]\n',
  );
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------------------
// Discovery

function templateFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) =>
      entry.isDirectory()
        ? templateFiles(join(dir, entry.name))
        : entry.name.endsWith('.hbs')
          ? [join(dir, entry.name)]
          : [],
    );
}

/** Line ranges [start, end] of the DO blocks of a template. */
function doBlocks(lines) {
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*DO \{\{#dollarQuote\b/.test(lines[i])) continue;
    const end = lines.findIndex((line, j) => j > i && /\{\{\/dollarQuote\}\}/.test(line));
    if (end < 0) throw new Error(`unterminated DO block at line ${i + 1}`);
    blocks.push([i, end]);
    i = end;
  }
  return blocks;
}

/** The IF … END IF statements of a DO block that raise an exception. */
function guardStatements(lines, [start, end]) {
  const guards = [];
  for (let i = start; i <= end; i++) {
    const open = /^(\s*)IF\b/.exec(lines[i]);
    if (!open) continue;
    const close = lines.findIndex((line, j) => j > i && j <= end && line === `${open[1]}END IF;`);
    if (close < 0) throw new Error(`IF without END IF at line ${i + 1}`);
    const body = lines.slice(i, close + 1);
    if (!body.some((line) => /\bRAISE EXCEPTION\b/.test(line))) continue;
    const then = lines.findIndex((line, j) => j >= i && /\bTHEN\s*$/.test(line));
    const message = /RAISE EXCEPTION '([^']*)'/.exec(body.join('\n'))?.[1] ?? 'RAISE EXCEPTION';
    guards.push({ start: i, end: close, conditionEnd: then, message: message.replace(/^phasectl: /, '') });
  }
  return guards;
}

/** The AND-separated terms after WHERE/ON on one line, up to the parenthesis that closes the clause. */
function clauseTerms(line) {
  const terms = [];
  const keyword = /\b(WHERE|ON)\s+/g;
  let match;
  while ((match = keyword.exec(line))) {
    const from = match.index + match[0].length;
    let depth = 0;
    let to = line.length;
    for (let k = from; k < line.length; k++) {
      if (line[k] === '(') depth++;
      if (line[k] === ')' && --depth < 0) {
        to = k;
        break;
      }
      if (depth === 0 && line.startsWith(' THEN', k)) {
        to = k;
        break;
      }
    }
    const clause = line.slice(from, to);
    const parts = splitTopLevel(clause, ' AND ');
    if (parts.length < 2) continue;
    let offset = from;
    const spans = parts.map((part) => {
      const span = { text: part, from: offset, to: offset + part.length };
      offset += part.length + ' AND '.length;
      return span;
    });
    spans.forEach((span, k) => {
      // Remove the term with the AND that joins it to its neighbour.
      const cut = k === 0 ? [span.from, spans[1].from] : [spans[k - 1].to, span.to];
      terms.push({ text: span.text.trim(), cut });
    });
  }
  return terms;
}

function splitTopLevel(text, separator) {
  const parts = [];
  let depth = 0;
  let last = 0;
  for (let k = 0; k < text.length; k++) {
    if (text[k] === '(') depth++;
    else if (text[k] === ')') depth--;
    else if (depth === 0 && text.startsWith(separator, k)) {
      parts.push(text.slice(last, k));
      last = k + separator.length;
      k += separator.length - 1;
    }
  }
  parts.push(text.slice(last));
  return parts;
}

/** A partial made only of guards: comments and DO blocks that raise, nothing else. */
function isGuardPartial(text) {
  if (!/\bRAISE EXCEPTION\b/.test(text)) return false;
  const lines = text.split('\n');
  const inBlock = new Set(doBlocks(lines).flatMap(([s, e]) => Array.from({ length: e - s + 1 }, (_, k) => s + k)));
  return lines.every((line, k) => inBlock.has(k) || line.trim() === '' || line.trim().startsWith('--'));
}

function partialPath(templatesDir, file, name) {
  const kind = relative(templatesDir, file).split(sep)[0];
  for (const candidate of [
    join(templatesDir, kind, 'partials', `${name}.hbs`),
    join(templatesDir, 'shared', `${name}.hbs`),
  ]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function discoverMutants(templatesDir) {
  const mutants = [];
  for (const file of templateFiles(templatesDir)) {
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    const rel = relative(dirname(templatesDir), file).split(sep).join('/');
    for (const block of doBlocks(lines)) {
      for (const guard of guardStatements(lines, block)) {
        const where = `${rel}:${guard.start + 1}`;
        mutants.push({
          id: `${where} remove`,
          file: rel,
          description: `remove the guard "${guard.message}"`,
          mutate: () => [...lines.slice(0, guard.start), ...lines.slice(guard.end + 1)].join('\n'),
        });
        const weakenable = /^\s*IF NOT EXISTS\b/.test(lines[guard.start]);
        for (let l = guard.start; weakenable && l <= guard.conditionEnd; l++) {
          for (const term of clauseTerms(lines[l])) {
            mutants.push({
              id: `${rel}:${l + 1} drop ${term.text}`,
              file: rel,
              description: `guard "${guard.message}" without the condition \`${term.text}\``,
              mutate: () =>
                lines
                  .map((line, k) => (k === l ? line.slice(0, term.cut[0]) + line.slice(term.cut[1]) : line))
                  .join('\n'),
            });
          }
        }
      }
    }
    lines.forEach((line, l) => {
      const include = /^\s*\{\{> ([\w-]+)\}\}\s*$/.exec(line);
      if (!include) return;
      const partial = partialPath(templatesDir, file, include[1]);
      if (!partial || !isGuardPartial(readFileSync(partial, 'utf8'))) return;
      mutants.push({
        id: `${rel}:${l + 1} unlink ${include[1]}`,
        file: rel,
        description: `${basename(file)} no longer includes the guard partial ${include[1]}`,
        mutate: () => lines.filter((_, k) => k !== l).join('\n'),
      });
    });
  }
  return mutants;
}

// ---------------------------------------------------------------------------------------------------------
// Running

let running; // the child process of the moment, stopped on SIGINT/SIGTERM

function run(command, args, cwd, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    running = child;
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('close', (code) => {
      running = undefined;
      resolve({ code: code ?? 1, output });
    });
  });
}

async function copyRepository() {
  const copy = mkdtempSync(join(tmpdir(), 'phasectl-guard-mutation-'));
  const skip = new Set([
    'node_modules',
    '.git',
    '.stryker-tmp',
    'reports',
    'dist',
    'coverage',
    '.scratch',
    '.phasectl-tmp',
  ]);
  cpSync(root, copy, {
    recursive: true,
    filter: (source) => source === root || !skip.has(relative(root, source).split(sep)[0]),
  });
  symlinkSync(realpathSync(join(root, 'node_modules')), join(copy, 'node_modules'), 'dir');
  const build = await run(
    process.execPath,
    [join(copy, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    copy,
  );
  if (build.code !== 0) throw new Error(`build failed in ${copy}:\n${build.output}`);
  // bin/phasectl.js runs the bundle (npm run build's second step).
  const bundle = await run(process.execPath, [join(copy, 'scripts/bundle-cli.mjs')], copy);
  if (bundle.code !== 0) throw new Error(`bundling the CLI failed in ${copy}:\n${bundle.output}`);
  return copy;
}

/** Runs vitest with --bail=1; returns the failed tests ("file > name"), empty when all passed. */
async function regenerate(copy) {
  const generated = await run(process.execPath, ['bin/phasectl.js', 'generate'], copy);
  if (generated.code !== 0) throw new Error(`generate failed on the unmutated templates:\n${generated.output}`);
}

async function runTests(copy, testPaths, options, databaseUrl) {
  const out = join(copy, '.guard-mutation-result.json');
  rmSync(out, { force: true });
  const vitest = join(copy, 'node_modules/vitest/vitest.mjs');
  // A longer test timeout: a timeout under load is not a kill (and a kill must repeat, see above).
  const args = [
    vitest,
    'run',
    ...testPaths,
    '--bail=1',
    '--testTimeout=180000',
    `--maxWorkers=${options.maxWorkers}`,
    '--reporter=json',
    `--outputFile=${out}`,
  ];
  for (const excluded of EXCLUDED_TESTS) args.push(`--exclude=${excluded}`);
  const result = await run(process.execPath, args, copy, { PHASECTL_TEST_DATABASE_URL: databaseUrl });
  if (!existsSync(out))
    return {
      failed: [`vitest did not report (exit ${result.code}): ${result.output.slice(-2000)}`],
      code: result.code,
    };
  const report = JSON.parse(readFileSync(out, 'utf8'));
  const failed = [];
  for (const file of report.testResults ?? []) {
    const name = relative(copy, file.name).split(sep).join('/');
    const tests = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const test of tests) failed.push(`${name} > ${test.fullName}`);
    if (tests.length === 0 && file.status === 'failed')
      failed.push(`${name} (${(file.message ?? 'failed').split('\n')[0]})`);
  }
  if (failed.length === 0 && result.code !== 0)
    failed.push(`vitest exit ${result.code}: ${result.output.slice(-2000)}`);
  return { failed, code: result.code, passed: report.numPassedTests ?? 0 };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  let mutants = discoverMutants(join(root, 'templates'));
  if (options.only.length > 0)
    mutants = mutants.filter((m) => options.only.some((text) => m.id.includes(text) || m.description.includes(text)));
  if (options.list || mutants.length === 0) {
    for (const m of mutants) process.stdout.write(`${m.id}\n    ${m.description}\n`);
    process.stdout.write(`${mutants.length} mutants\n`);
    return mutants.length === 0 && !options.list ? 2 : 0;
  }

  const started = Date.now();
  process.stdout.write(`template-guard-mutation: ${mutants.length} mutants; tests: ${options.tests.join(' ')}\n`);
  const copy = await copyRepository();
  const { startEmbeddedPostgres } = await import(pathToFileURL(join(copy, 'dist/db/embedded.js')).href);
  const server = process.env.PHASECTL_TEST_DATABASE_URL ? undefined : await startEmbeddedPostgres({});
  const databaseUrl = process.env.PHASECTL_TEST_DATABASE_URL ?? server.url;
  const stop = async () => {
    await server?.stop();
    if (!options.keep) rmSync(copy, { recursive: true, force: true });
  };
  const interrupted = () => {
    running?.kill('SIGTERM');
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  const results = [];
  const cleanRuns = new Map(); // test file -> failures on the unmutated templates
  try {
    for (const [index, mutant] of mutants.entries()) {
      const path = join(copy, mutant.file);
      const original = readFileSync(path, 'utf8');
      const t0 = Date.now();
      const clean = async (file) => {
        if (!cleanRuns.has(file)) {
          writeFileSync(path, original);
          if (regenerated) await regenerate(copy);
          cleanRuns.set(file, (await runTests(copy, [file], options, databaseUrl)).failed);
        }
        return cleanRuns.get(file);
      };
      let result;
      let regenerated = false;
      try {
        // Regenerate this repository's own example with the mutant, as a user would after changing a template
        // (a test compares it with templates/): `generate --check` 0 = output unchanged, 1 = it differs.
        writeFileSync(path, mutant.mutate());
        const check = await run(process.execPath, ['bin/phasectl.js', 'generate', '--check'], copy);
        const render = check.code === 1 ? await run(process.execPath, ['bin/phasectl.js', 'generate'], copy) : check;
        regenerated = check.code === 1;
        if (render.code !== 0) {
          result = {
            status: 'broken',
            detail: `the example no longer renders: ${render.output.trim().split('\n')[0]}`,
          };
        }
        // A kill counts when the killing file fails again on its own with the mutant and passes without it;
        // a kill that does not repeat (a timeout under load) is retried once.
        for (let attempt = 1; !result && attempt <= 2; attempt++) {
          writeFileSync(path, mutant.mutate());
          const { failed, passed } = await runTests(copy, options.tests, options, databaseUrl);
          if (failed.length === 0) {
            result = { status: 'SURVIVED', detail: `all ${passed} tests passed` };
            break;
          }
          const file = failed[0].split(' > ')[0].split(' (')[0];
          if (!existsSync(join(copy, file))) {
            result = { status: 'invalid', detail: failed[0] };
            break;
          }
          const again = (await runTests(copy, [file], options, databaseUrl)).failed;
          if (again.length === 0) {
            if (attempt === 2)
              result = { status: 'unconfirmed', detail: `${failed[0]} failed, then passed alone with the mutant` };
            continue;
          }
          const without = await clean(file);
          result =
            without.length > 0
              ? { status: 'invalid', detail: `${file} also fails without the mutation: ${without[0]}` }
              : { status: 'killed', detail: again[0] };
        }
        if (check.code === 0) result.note = "the repository's example does not use it";
      } finally {
        writeFileSync(path, original);
        if (regenerated) await regenerate(copy);
      }
      const seconds = Math.round((Date.now() - t0) / 1000);
      results.push({ id: mutant.id, description: mutant.description, ...result, seconds });
      process.stdout.write(
        `[${index + 1}/${mutants.length}] ${result.status.padEnd(8)} ${mutant.id} (${seconds}s)\n    ${mutant.description}\n`,
      );
      if (result.detail)
        process.stdout.write(`    ${result.status === 'killed' ? 'by ' : ''}${result.detail.split('\n')[0]}\n`);
      if (result.note) process.stdout.write(`    note: ${result.note}\n`);
    }
  } finally {
    await stop();
  }

  const count = (status) => results.filter((r) => r.status === status).length;
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  process.stdout.write(
    `\ntemplate-guard-mutation: ${count('killed')}/${results.length} killed, ${count('SURVIVED')} survived, ` +
      `${count('broken')} broken, ${count('invalid') + count('unconfirmed')} invalid or unconfirmed, ${minutes} min\n`,
  );
  if (options.report)
    writeFileSync(
      options.report,
      `${JSON.stringify({ minutes: Number(minutes), tests: options.tests, results }, null, 2)}\n`,
    );
  return results.every((r) => r.status === 'killed') ? 0 : 1;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`template-guard-mutation: ${error.stack ?? error}\n`);
      process.exit(3);
    },
  );
}
