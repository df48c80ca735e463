/** The demo's sample table: `public.users` with a `job_title` column that the demo renames to `favourite_color`. */

const titles = ['engineer', 'designer', 'manager', 'analyst', 'support', 'sales'];

/** The SQL that creates and fills the table (`rows` rows from generate_series, ids 1..rows). */
export function sampleTableSql(rows: number): string {
  const titleArray = `ARRAY[${titles.map((title) => `'${title}'`).join(', ')}]`;
  return `
CREATE TABLE public.users (
  id bigint PRIMARY KEY,
  email text NOT NULL,
  job_title text NOT NULL DEFAULT 'unknown',
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO public.users (id, email, job_title)
SELECT g, 'user' || g || '@example.com', (${titleArray})[1 + g % ${titles.length}] || ' #' || g
FROM generate_series(1, ${Math.trunc(rows)}) AS g;
CREATE INDEX users_job_title_idx ON public.users (job_title);
ANALYZE public.users;`;
}

/** The value `sampleTableSql` gave row `id` (what a row nobody wrote to must still hold). */
export function initialJobTitle(id: number): string {
  return `${titles[id % titles.length]} #${id}`;
}
