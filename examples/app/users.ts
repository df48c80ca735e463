// The example application's data access for `users`, as it reads at release 1.6.0:
// after phase 3 of users-job-title-to-favourite-color the old column name is gone from the code,
// which `phasectl check` (rule 6) verifies before the release that drops the column.
import type pg from 'pg';

export interface User {
  id: string;
  email: string;
  favouriteColor: string;
}

export async function findUser(client: pg.Client, id: string): Promise<User | undefined> {
  const { rows } = await client.query<{ id: string; email: string; favourite_color: string }>(
    'SELECT id, email, favourite_color FROM public.users WHERE id = $1',
    [id],
  );
  const row = rows[0];
  return row && { id: row.id, email: row.email, favouriteColor: row.favourite_color };
}

export async function setFavouriteColor(client: pg.Client, id: string, color: string): Promise<void> {
  await client.query('UPDATE public.users SET favourite_color = $2 WHERE id = $1', [id, color]);
}
