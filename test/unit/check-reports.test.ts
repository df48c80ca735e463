import { describe, expect, it } from 'vitest';
import { renderGithub } from '../../src/check/report-github.js';
import { renderJson } from '../../src/check/report-json.js';
import { renderText } from '../../src/check/report-text.js';
import type { CheckReport } from '../../src/check/types.js';

const base = {
  ref: 'origin/main',
  sha: '1234567890abcdef1234567890abcdef12345678',
  shortSha: '1234567',
  description: 'merge base of HEAD and origin/main',
};

const failing: CheckReport = {
  base,
  violations: [
    {
      rule: 3,
      changeId: 'users-title',
      file: 'phases.yaml',
      line: 14,
      column: 7,
      message: 'goes from phase 1 to phase 3',
      fix: 'keep phase2 only',
    },
    {
      rule: 6,
      changeId: 'users-title',
      file: 'src/a,b.ts',
      line: 2,
      column: 5,
      message: 'still names public.users.job_title\n(second line) 100%',
      fix: 'remove it',
    },
    { rule: 0, file: 'phases.yaml', message: 'bad', fix: 'fix it' },
  ],
  notes: ['rule 7 is off'],
  changeCount: 1,
  ok: false,
  exitCode: 1,
};

describe('text report', () => {
  it('groups per change, shows file:line:col, rule, message and fix, then the summary with the base', () => {
    expect(renderText(failing)).toBe(
      [
        'users-title',
        '  phases.yaml:14:7  rule 3 (one phase per pull request)  goes from phase 1 to phase 3',
        '      fix: keep phase2 only',
        '  src/a,b.ts:2:5  rule 6 (old column unreferenced)  still names public.users.job_title\n(second line) 100%',
        '      fix: remove it',
        '',
        '(not tied to one change)',
        '  phases.yaml  rule 0 (valid phases.yaml)  bad',
        '      fix: fix it',
        '',
        'note: rule 7 is off',
        'check: 3 violations in 1 change (base: origin/main 1234567 (merge base of HEAD and origin/main))',
        '',
      ].join('\n'),
    );
  });

  it('says ok and which base was used when clean, or that there was none', () => {
    expect(renderText({ ...failing, violations: [], notes: [], ok: true, exitCode: 0 })).toBe(
      'check: ok, 1 change checked (base: origin/main 1234567 (merge base of HEAD and origin/main))\n',
    );
    expect(renderText({ ...failing, base: null, violations: [], notes: [], ok: true, exitCode: 0 })).toContain(
      '(base: none)',
    );
  });
});

describe('json report', () => {
  it('prints the documented shape, null where nothing is known', () => {
    const parsed = JSON.parse(renderJson(failing));
    expect(parsed.base).toEqual({ ref: 'origin/main', sha: base.sha });
    expect(parsed.ok).toBe(false);
    expect(parsed.violations[0]).toEqual({
      rule: 3,
      name: 'one phase per pull request',
      changeId: 'users-title',
      file: 'phases.yaml',
      line: 14,
      column: 7,
      message: 'goes from phase 1 to phase 3',
      fix: 'keep phase2 only',
    });
    expect(parsed.violations[2]).toMatchObject({ rule: 0, changeId: null, line: null, column: null });
    expect(JSON.parse(renderJson({ ...failing, base: null })).base).toBeNull();
  });
});

describe('github report', () => {
  it('prints one escaped ::error annotation per violation, notices, and the summary', () => {
    const lines = renderGithub(failing).trimEnd().split('\n');
    expect(lines[0]).toBe(
      '::error file=phases.yaml,line=14,col=7,title=phasectl rule 3 (one phase per pull request)::users-title: goes from phase 1 to phase 3 (fix: keep phase2 only)',
    );
    expect(lines[1]).toBe(
      '::error file=src/a%2Cb.ts,line=2,col=5,title=phasectl rule 6 (old column unreferenced)::users-title: still names public.users.job_title%0A(second line) 100%25 (fix: remove it)',
    );
    expect(lines[2]).toBe('::error file=phases.yaml,title=phasectl rule 0 (valid phases.yaml)::bad (fix: fix it)');
    expect(lines[3]).toBe('::notice title=phasectl check::rule 7 is off');
    expect(lines[4]).toMatch(/^check: 3 violations in 1 change/);
  });
});
