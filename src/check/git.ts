import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError, RuntimeFailure } from '../errors.js';

/** Outcome of one git process: output and exit status (failures other than the expected ones throw). */
interface GitResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** A line a `git grep` found: path relative to the repository root, 1-based line number, the line's text. */
export interface GrepHit {
  path: string;
  line: number;
  text: string;
}

const MAX_BUFFER = 512 * 1024 * 1024;

/**
 * A git working tree, read through the git CLI. Every path given to or returned by these methods is
 * relative to the repository root (`root`), whatever directory the project lives in.
 */
export class GitRepository {
  private constructor(
    /** Absolute path of the working tree's top level. */
    readonly root: string,
    /** The project directory relative to `root`, with a trailing slash, or '' when they are the same. */
    readonly prefix: string,
  ) {}

  /** Opens the repository that holds `projectDir`; InputError when it is not inside one. */
  static async open(projectDir: string): Promise<GitRepository> {
    const dir = path.resolve(projectDir);
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new InputError(`project directory ${dir} does not exist`, {
        hint: 'pass --project <dir> naming the folder that holds phases.yaml',
      });
    }
    const result = await runGit(dir, ['rev-parse', '--show-toplevel', '--show-prefix']);
    if (result.code !== 0) {
      if (/not a git repository/i.test(result.stderr)) {
        throw new InputError(`${dir} is not inside a git repository`, {
          hint: 'run phasectl check in a clone of the project (in CI: actions/checkout before this step)',
        });
      }
      throw gitFailure(['rev-parse', '--show-toplevel'], result);
    }
    const [root = dir, prefix = ''] = result.stdout.split('\n');
    return new GitRepository(root, prefix);
  }

  /** Runs git in the repository root; throws unless the exit code is 0 or one of `allowedCodes`. */
  async run(args: string[], options: { allowedCodes?: number[]; input?: string } = {}): Promise<GitResult> {
    const result = await runGit(this.root, args, options.input);
    if (result.code !== 0 && !(options.allowedCodes ?? []).includes(result.code)) throw gitFailure(args, result);
    return result;
  }

  /** The commit a ref names, or undefined when this clone does not know it. */
  async resolveCommit(ref: string): Promise<string | undefined> {
    const result = await this.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], {
      allowedCodes: [1, 128],
    });
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  /** Abbreviated commit id for messages. */
  async shortSha(sha: string): Promise<string> {
    return (await this.run(['rev-parse', '--short', sha])).stdout.trim();
  }

  /** True in a shallow clone (`git clone --depth`, the default of actions/checkout). */
  async isShallow(): Promise<boolean> {
    return (await this.run(['rev-parse', '--is-shallow-repository'])).stdout.trim() === 'true';
  }

  /** The best common ancestor of two commits, or undefined when this clone holds none (disjoint or cut-off history). */
  async mergeBase(a: string, b: string): Promise<string | undefined> {
    const result = await this.run(['merge-base', a, b], { allowedCodes: [1] });
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  /** The newest tag matching `pattern` reachable from HEAD, or undefined. */
  async nearestTag(pattern: string): Promise<string | undefined> {
    const result = await this.run(['describe', '--tags', '--abbrev=0', '--match', pattern, 'HEAD'], {
      allowedCodes: [128],
    });
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  /** Names of every tag matching a glob. */
  async tags(pattern: string): Promise<Set<string>> {
    const result = await this.run(['tag', '--list', pattern]);
    return new Set(result.stdout.split('\n').filter((name) => name !== ''));
  }

  /** A file's text at a commit, or undefined when it does not exist there. */
  async showFile(sha: string, file: string): Promise<string | undefined> {
    const result = await this.run(['cat-file', 'blob', `${sha}:${file}`], { allowedCodes: [128] });
    return result.code === 0 ? result.stdout : undefined;
  }

  /** Every file under `dir` at a commit, with its blob id (one `git ls-tree -r`). */
  async treeBlobs(sha: string, dir: string): Promise<Map<string, string>> {
    const result = await this.run(['ls-tree', '-r', '-z', '--full-tree', sha, '--', dir]);
    const blobs = new Map<string, string>();
    for (const entry of result.stdout.split('\0')) {
      const match = /^\d+ blob ([0-9a-f]+)\t(.*)$/s.exec(entry);
      if (match?.[1] && match[2] !== undefined) blobs.set(match[2], match[1]);
    }
    return blobs;
  }

  /** Files under `dir` in the working tree, tracked or untracked-but-not-ignored (deleted files are left out). */
  async workingFiles(dir: string): Promise<string[]> {
    const listed = await this.run(['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', dir]);
    const deleted = await this.run(['ls-files', '-z', '--deleted', '--', dir]);
    const gone = new Set(deleted.stdout.split('\0'));
    return [...new Set(listed.stdout.split('\0'))].filter((file) => file !== '' && !gone.has(file)).sort();
  }

  /** Blob ids of working-tree files, as `git add` would store them (one `git hash-object --stdin-paths`). */
  async hashWorkingFiles(files: string[]): Promise<Map<string, string>> {
    if (files.length === 0) return new Map();
    const result = await this.run(['hash-object', '--stdin-paths'], { input: `${files.join('\n')}\n` });
    const ids = result.stdout.split('\n');
    return new Map(files.map((file, index) => [file, ids[index] ?? '']));
  }

  /**
   * Lines naming any of `words` (whole words, case-sensitive) in tracked text files matching `pathspecs`:
   * the working tree when `sha` is undefined, else that commit's tree.
   */
  async grepWords(words: string[], pathspecs: string[], sha?: string): Promise<GrepHit[]> {
    if (words.length === 0) return [];
    const args = [
      'grep',
      '-z',
      '-n',
      '-I',
      '-w',
      '-F',
      '--full-name',
      '--no-color',
      ...words.flatMap((word) => ['-e', word]),
    ];
    if (sha) args.push(sha);
    args.push('--', ...pathspecs);
    const result = await this.run(args, { allowedCodes: [1] });
    const hits: GrepHit[] = [];
    const treePrefix = sha ? `${sha}:` : '';
    for (const record of result.stdout.split('\n')) {
      if (record === '') continue;
      // -z: `path\0line\0text`; a tree search prefixes the path with `<sha>:`.
      const [file = '', line = '', ...text] = record.split('\0');
      hits.push({
        path: file.startsWith(treePrefix) ? file.slice(treePrefix.length) : file,
        line: Number(line),
        text: text.join('\0'),
      });
    }
    return hits;
  }
}

function runGit(cwd: string, args: string[], input?: string): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      { cwd, maxBuffer: MAX_BUFFER, encoding: 'utf8', env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          if (error.code === 'ENOENT') {
            reject(
              new RuntimeFailure('git is not installed (or not on PATH)', {
                hint: 'install git: phasectl check reads the repository through the git CLI',
              }),
            );
          } else {
            reject(new RuntimeFailure(`git ${args[0]} failed: ${error.message}`, { cause: error }));
          }
          return;
        }
        resolve({ stdout, stderr, code: error ? (error.code as number) : 0 });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

function gitFailure(args: string[], result: GitResult): RuntimeFailure {
  const detail = result.stderr.trim().split('\n')[0] ?? '';
  return new RuntimeFailure(`git ${args.slice(0, 2).join(' ')} failed (exit ${result.code}): ${detail}`, {
    hint: /dubious ownership/.test(result.stderr)
      ? 'mark the checkout as safe: git config --global --add safe.directory <dir>'
      : 'run the git command by hand to see the full error',
  });
}
