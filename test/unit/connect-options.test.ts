import { afterEach, expect, test } from 'vitest';
import { pinSearchPath } from '../../src/db/connect.js';

const saved = process.env.PGOPTIONS;
afterEach(() => {
  if (saved === undefined) delete process.env.PGOPTIONS;
  else process.env.PGOPTIONS = saved;
});

const ISOLATION = '-c default_transaction_isolation=read\\ committed';

test('the pinned search_path is sent last, after the options of the URL or PGOPTIONS (the last -c wins)', () => {
  delete process.env.PGOPTIONS;
  expect(pinSearchPath('postgres://u:p@h:5432/db')).toEqual({
    connectionString: 'postgres://u:p@h:5432/db',
    options: `-c search_path=pg_catalog,pg_temp ${ISOLATION}`,
  });
  // pg would let the URL's options replace ours: they move into ours, first.
  const fromUrl = pinSearchPath('postgres://u:p@h:5432/db?sslmode=disable&options=-c%20search_path%3Dpublic');
  expect(fromUrl.options).toBe(`-c search_path=public -c search_path=pg_catalog,pg_temp ${ISOLATION}`);
  expect(fromUrl.connectionString).toBe('postgres://u:p@h:5432/db?sslmode=disable');
  process.env.PGOPTIONS = '-c statement_timeout=5s';
  expect(pinSearchPath('postgres://u@h/db').options).toBe(
    `-c statement_timeout=5s -c search_path=pg_catalog,pg_temp ${ISOLATION}`,
  );
});
