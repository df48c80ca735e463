import { describe, expect, it } from 'vitest';
import { findOccurrences, ignoreDirective, nameForms } from '../../src/check/references.js';

describe('nameForms', () => {
  it('gives the exact name and the camelCase form ORMs map it to', () => {
    expect(nameForms('job_title').map((form) => form.text)).toEqual(['job_title', 'jobTitle']);
    expect(nameForms('user_id_2').map((form) => form.text)).toEqual(['user_id_2', 'userId2']);
  });

  it('gives one form for a name without underscores', () => {
    expect(nameForms('email')).toEqual([{ text: 'email', form: 'exact name' }]);
  });
});

describe('findOccurrences', () => {
  const forms = nameForms('job_title');

  it('finds whole identifiers, quoted or not, with 1-based columns', () => {
    const line = `select job_title, "job_title", 'job_title', \`job_title\` from users; user.jobTitle`;
    expect(findOccurrences(line, forms).map((hit) => [hit.column, hit.form.form])).toEqual([
      [8, 'exact name'],
      [20, 'exact name'],
      [33, 'exact name'],
      [46, 'exact name'],
      [74, 'camelCase form'],
    ]);
  });

  it('ignores longer identifiers that contain the name', () => {
    expect(findOccurrences('old_job_title job_titles jobTitleText myjobTitle', forms)).toEqual([]);
  });

  it('is case-sensitive: another spelling is another identifier', () => {
    expect(findOccurrences('JOB_TITLE JobTitle', forms)).toEqual([]);
  });
});

describe('ignoreDirective', () => {
  it('accepts a comment with a reason', () => {
    expect(ignoreDirective('x.job_title // phasectl-ignore: the jobs API field, not the column')).toEqual({
      kind: 'ignored',
      reason: 'the jobs API field, not the column',
    });
    expect(ignoreDirective('job_title /* phasectl-ignore: legacy export */')).toEqual({
      kind: 'ignored',
      reason: 'legacy export',
    });
  });

  it('rejects a comment without a reason', () => {
    expect(ignoreDirective('job_title // phasectl-ignore')).toEqual({ kind: 'no-reason', column: 14 });
    expect(ignoreDirective('job_title # phasectl-ignore:   ')).toMatchObject({ kind: 'no-reason' });
  });

  it('finds nothing on an ordinary line', () => {
    expect(ignoreDirective('const job_title = 1;')).toEqual({ kind: 'none' });
  });
});
