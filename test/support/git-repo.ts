import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A real git repository in a temporary folder, driven through the git CLI. */
export interface TestRepository {
  dir: string;
  /** Runs git in the repository and returns its trimmed stdout (throws on a non-zero exit). */
  git(...args: string[]): string;
  write(file: string, content: string): void;
  read(file: string): string;
  remove(file: string): void;
  /** Stages everything and commits; returns the new commit id. */
  commit(message: string): string;
}

const temporaryDirs: string[] = [];

function runGit(cwd: string, args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' },
  }).trim();
}

/** A temporary folder removed by `removeTemporaryRepositories`. */
export function temporaryDir(prefix = 'phasectl-check-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  temporaryDirs.push(dir);
  return dir;
}

function wrap(dir: string): TestRepository {
  const repository: TestRepository = {
    dir,
    git: (...args) => runGit(dir, args),
    write(file, content) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), content);
    },
    read: (file) => readFileSync(path.join(dir, file), 'utf8'),
    remove: (file) => rmSync(path.join(dir, file)),
    commit(message) {
      repository.git('add', '-A');
      repository.git('commit', '-q', '--allow-empty', '-m', message);
      return repository.git('rev-parse', 'HEAD');
    },
  };
  return repository;
}

function configure(repository: TestRepository): TestRepository {
  repository.git('config', 'user.name', 'phasectl test');
  repository.git('config', 'user.email', 'test@phasectl.invalid');
  repository.git('config', 'commit.gpgsign', 'false');
  repository.git('config', 'tag.gpgsign', 'false');
  return repository;
}

/** `git init -b main` in a new temporary folder, with a local identity. */
export function createRepository(): TestRepository {
  const dir = temporaryDir();
  runGit(dir, ['init', '-q', '-b', 'main']);
  return configure(wrap(dir));
}

/** A bare repository holding everything of `source` (all branches and tags), usable as `origin`. */
export function createOrigin(source: TestRepository): string {
  const dir = temporaryDir('phasectl-origin-');
  runGit(dir, ['clone', '-q', '--bare', source.dir, '.']);
  return dir;
}

/** `git clone [--depth N] [--branch B] file://<origin>`: with a depth, a shallow clone like CI's. */
export function cloneRepository(origin: string, options: { depth?: number; branch?: string } = {}): TestRepository {
  const dir = temporaryDir('phasectl-clone-');
  const args = ['clone', '-q'];
  if (options.depth) args.push('--depth', String(options.depth));
  if (options.branch) args.push('--branch', options.branch);
  args.push(`file://${origin}`, '.');
  runGit(dir, args);
  return configure(wrap(dir));
}

/** Removes every folder these helpers created (call in afterAll). */
export function removeTemporaryRepositories(): void {
  for (const dir of temporaryDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
