import { InputError } from '../errors.js';
import type { GitRepository } from './git.js';
import type { BaseRef } from './types.js';

const DEFAULT_BRANCH = 'origin/main';

const FETCH_EVERYTHING = 'or check out with actions/checkout and `fetch-depth: 0`';

/**
 * Picks the commit HEAD is compared with, in this order: `--base` (its merge base with HEAD);
 * the merge base with origin/main when that ref exists; the newest tag matching `releaseTags`
 * reachable from HEAD; else none (rules that need a base are skipped with a note).
 * Throws InputError (exit 2) when the named base, or the merge base, is not in this clone, saying what to fetch.
 */
export async function resolveBase(
  git: GitRepository,
  options: { base?: string; releaseTags?: string },
): Promise<{ base: BaseRef | null; notes: string[] }> {
  const head = await git.resolveCommit('HEAD');
  if (!head) {
    if (options.base)
      throw new InputError('HEAD has no commit yet, so there is nothing to compare with --base', {
        hint: 'commit first, or run without --base',
      });
    return { base: null, notes: ['no commit yet: rules 3, 5, 6 (base half) and 7 need a base and were skipped'] };
  }

  if (options.base) {
    const sha = await git.resolveCommit(options.base);
    if (!sha) throw await unknownRef(git, options.base);
    return { base: await mergeBaseWith(git, head, options.base, sha), notes: [] };
  }

  const mainSha = await git.resolveCommit(`refs/remotes/${DEFAULT_BRANCH}`);
  if (mainSha) return { base: await mergeBaseWith(git, head, DEFAULT_BRANCH, mainSha), notes: [] };

  if (options.releaseTags) {
    const tag = await git.nearestTag(options.releaseTags);
    if (tag) {
      const sha = (await git.resolveCommit(`refs/tags/${tag}`)) ?? (await git.resolveCommit(tag));
      if (sha)
        return { base: await baseRef(git, tag, sha, `newest release tag matching ${options.releaseTags}`), notes: [] };
    }
    const shallow = await git.isShallow();
    return {
      base: null,
      notes: [
        `no base: no ${DEFAULT_BRANCH} and no tag matching ${options.releaseTags} reachable from HEAD` +
          (shallow ? ' (shallow clone: fetch tags with `git fetch --tags --deepen=…`)' : '') +
          '; rules 3, 5, 6 (base half) and 7 were checked without one or skipped — pass --base <ref>',
      ],
    };
  }
  return {
    base: null,
    notes: [
      `no base: no --base given and no ${DEFAULT_BRANCH}; rules 3, 5, 6 (base half) and 7 were skipped — pass --base <ref>`,
    ],
  };
}

async function mergeBaseWith(git: GitRepository, head: string, ref: string, sha: string): Promise<BaseRef> {
  const mergeBase = await git.mergeBase(head, sha);
  if (mergeBase) {
    return baseRef(git, ref, mergeBase, mergeBase === sha ? ref : `merge base of HEAD and ${ref}`);
  }
  if (await git.isShallow()) {
    throw new InputError(`the merge base of HEAD and ${ref} is not in this shallow clone`, {
      hint: `fetch more history: \`git fetch --deepen=200 origin\` (repeat until it is found) or \`git fetch --unshallow\`, ${FETCH_EVERYTHING}`,
    });
  }
  throw new InputError(`HEAD and ${ref} have no common history`, {
    hint: 'pass --base naming a commit HEAD descends from (the target branch of the pull request)',
  });
}

async function baseRef(git: GitRepository, ref: string, sha: string, description: string): Promise<BaseRef> {
  return { ref, sha, shortSha: await git.shortSha(sha), description };
}

async function unknownRef(git: GitRepository, ref: string): Promise<InputError> {
  const remoteBranch = /^origin\/(.+)$/.exec(ref)?.[1];
  const fetch = remoteBranch
    ? `\`git fetch origin ${remoteBranch}\``
    : `\`git fetch origin ${ref}\` (or \`git fetch --tags\` for a tag)`;
  if (await git.isShallow()) {
    return new InputError(`base ref ${ref} is not in this shallow clone`, {
      hint: `fetch it: ${fetch}, ${FETCH_EVERYTHING}`,
    });
  }
  return new InputError(`unknown base ref ${ref}`, {
    hint: `name a branch, tag or commit of this repository (git branch -a, git tag); a remote branch must be fetched first: ${fetch}`,
  });
}
