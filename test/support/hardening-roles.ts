import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { quoteIdent, quoteLiteral } from '../../src/render/quote.js';
import { serverUrl } from './database.js';

/**
 * A login role that is not superuser, has CREATE on one database (so it can create its own schemas,
 * including `phasectl`) and nothing else: the least privilege `migrate` needs (docs/privileges.md).
 * Roles are cluster-wide, so the name is random; `drop` removes it after the database is gone.
 */
export async function createOwnerRole(
  adminUrl: string,
  database: string,
): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `app_owner_${randomBytes(4).toString('hex')}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(
      `CREATE ROLE ${quoteIdent(name)} LOGIN PASSWORD ${quoteLiteral(password)} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS`,
    );
    await admin.query(`GRANT CREATE, CONNECT ON DATABASE ${quoteIdent(database)} TO ${quoteIdent(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.username = name;
  url.password = password;
  url.pathname = `/${database}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      // The test database is gone by now (the role owned objects there): drop from the maintenance database.
      const client = new pg.Client({ connectionString: serverUrl() });
      await client.connect();
      try {
        await client.query(`DROP ROLE IF EXISTS ${quoteIdent(name)}`);
      } finally {
        await client.end();
      }
    },
  };
}
