import { expect, test } from 'vitest';
import { bodyNamesColumn } from '../../src/dependents/function-body.js';
const t = { schema: 'public', table: 'users', column: 'job_title' };
test('function bodies: parser hits, comments and other tables not, dynamic SQL strings, NEW/OLD, %TYPE', () => {
  const pl = (source: string, returnsTrigger = false) =>
    bodyNamesColumn({ language: 'plpgsql', source, returnsTrigger, recordsMayBeTable: true }, t);
  const sqlf = (source: string) =>
    bodyNamesColumn({ language: 'sql', source, returnsTrigger: false, recordsMayBeTable: false }, t);
  expect(sqlf('SELECT job_title FROM users WHERE id = $1')).toEqual({ line: 1 });
  expect(sqlf('-- job_title\nSELECT u.job_title FROM public.users u')).toEqual({ line: 2 });
  expect(sqlf('\n  SELECT o.job_title FROM orders o -- job_title\n')).toBeUndefined();
  expect(sqlf('SELECT 1;\nUPDATE users SET job_title = $1')).toEqual({ line: 2 });
  expect(
    pl('\nBEGIN\n  -- job_title\n  RETURN (SELECT count(*) FROM orders WHERE job_title = 1);\nEND'),
  ).toBeUndefined();
  expect(pl('\nDECLARE x text;\nBEGIN\n  SELECT u.job_title INTO x FROM users u;\nEND')).toEqual({ line: 4 });
  expect(pl("\nBEGIN\n  EXECUTE format('UPDATE %I SET %I = 1', tbl, 'job_title');\nEND")).toEqual({ line: 3 });
  expect(pl('\nBEGIN\n  NEW.job_title := lower(NEW.job_title);\n RETURN NEW;\nEND', true)).toEqual({ line: 3 });
  expect(pl('\nDECLARE x public.users.job_title%TYPE;\nBEGIN\n RETURN;\nEND')).toEqual({ line: 2 });
  expect(pl('BEGIN x := ')).toEqual(undefined);
});

test('function bodies: fields of rows of the table held by variables and arguments (they fail once the column is dropped)', () => {
  const pl = (source: string, rowArguments: string[] = []) =>
    bodyNamesColumn({ language: 'plpgsql', source, returnsTrigger: false, recordsMayBeTable: false, rowArguments }, t);
  const sqlf = (source: string, rowArguments: string[] = []) =>
    bodyNamesColumn({ language: 'sql', source, returnsTrigger: false, recordsMayBeTable: false, rowArguments }, t);
  // A variable of the table's row type, however it is spelled.
  expect(pl('\nDECLARE r users%ROWTYPE;\nBEGIN\n  SELECT * INTO r FROM users;\n  RETURN r.job_title;\nEND')).toEqual({
    line: 5,
  });
  expect(pl('\nDECLARE r public.users;\nBEGIN\n  RETURN (r).job_title;\nEND')).toEqual({ line: 4 });
  expect(pl('\nDECLARE r "public"."users"%rowtype;\nBEGIN\n  RETURN r.job_title;\nEND')).toEqual({ line: 4 });
  // A record filled from the table; not one filled from another table only.
  expect(
    pl(
      '\nDECLARE r record;\nBEGIN\n  FOR r IN SELECT * FROM public.users LOOP\n    PERFORM r.job_title;\n  END LOOP;\nEND',
    ),
  ).toEqual({ line: 5 });
  expect(
    pl('\nDECLARE r record;\nBEGIN\n  FOR r IN SELECT * FROM orders LOOP\n    PERFORM r.job_title;\n  END LOOP;\nEND'),
  ).toBeUndefined();
  expect(pl('\nDECLARE r orders%ROWTYPE;\nBEGIN\n  RETURN r.job_title;\nEND')).toBeUndefined();
  // Arguments of the table's row type (names and $n come from the catalog).
  expect(sqlf('SELECT x.job_title', ['x', '$1'])).toEqual({ line: 1 });
  expect(sqlf('SELECT (x).job_title', ['x', '$1'])).toEqual({ line: 1 });
  expect(sqlf('SELECT ($1).job_title', ['x', '$1'])).toEqual({ line: 1 });
  expect(sqlf('SELECT ($2).job_title', ['x', '$1'])).toBeUndefined();
  expect(sqlf('SELECT x.job_title')).toBeUndefined();
  expect(pl('\nBEGIN\n  RETURN x.job_title;\nEND', ['x', '$1'])).toEqual({ line: 3 });
});

test('function bodies: names spelled with capitals, quotes, dots or non-ASCII letters, as PostgreSQL folds them', () => {
  const on = (target: { schema: string; table: string; column: string }) => (source: string) =>
    bodyNamesColumn({ language: 'plpgsql', source, returnsTrigger: false, recordsMayBeTable: false }, target);
  const pl = on(t);
  // PostgreSQL folds only ASCII capitals: `"R"` and `Ärger` are variables named R and Ärger, `R` one named r.
  expect(pl('\nDECLARE "R" users%ROWTYPE;\nBEGIN\n  RETURN "R".job_title;\nEND')).toEqual({ line: 4 });
  expect(pl('\nDECLARE Ärger users%ROWTYPE;\nBEGIN\n  RETURN Ärger.job_title;\nEND')).toEqual({ line: 4 });
  expect(pl('\nDECLARE Ärger users%ROWTYPE;\nBEGIN\n  Ärger.job_title := 1;\nEND')).toEqual({ line: 4 });
  expect(pl('\nDECLARE R users%ROWTYPE;\nBEGIN\n  RETURN r.job_title;\nEND')).toEqual({ line: 4 });
  expect(
    pl('\nDECLARE "Rec" record;\nBEGIN\n  SELECT * INTO "Rec" FROM users;\n  RETURN "Rec".job_title;\nEND'),
  ).toEqual({ line: 5 });
  // The parser gives a %ROWTYPE's and a %TYPE's names folded and unquoted: `"Users"%ROWTYPE` is `Users%rowtype`.
  const capitals = on({ schema: 'public', table: 'Users', column: 'Job' });
  expect(capitals('\nDECLARE r "Users"%ROWTYPE;\nBEGIN\n  RETURN r."Job";\nEND')).toEqual({ line: 4 });
  expect(capitals('\nDECLARE r public."Users"%ROWTYPE;\nBEGIN\n  RETURN r."Job";\nEND')).toEqual({ line: 4 });
  expect(capitals('\nDECLARE r "Users";\nBEGIN\n  RETURN r."Job";\nEND')).toEqual({ line: 4 });
  expect(capitals('\nDECLARE r users%ROWTYPE;\nBEGIN\n  RETURN r."Job";\nEND')).toBeUndefined();
  expect(capitals('\nDECLARE x public."Users"."Job"%TYPE;\nBEGIN\n  RETURN 1;\nEND')).toEqual({ line: 2 });
  expect(
    on({ schema: 'public', table: 'Ünï', column: 'job' })('\nDECLARE r Ünï%ROWTYPE;\nBEGIN\n  RETURN r.job;\nEND'),
  ).toEqual({
    line: 4,
  });
  const dotted = on({ schema: 'a.b', table: 'c', column: 'job' });
  expect(dotted('\nDECLARE r "a.b".c%ROWTYPE;\nBEGIN\n  RETURN r.job;\nEND')).toEqual({ line: 4 });
  expect(dotted('\nDECLARE r "a.b".c;\nBEGIN\n  RETURN r.job;\nEND')).toEqual({ line: 4 });
});
