import type { ColumnFacts, PhaseReleases, RenameChange } from '../../src/spec/types.js';

/**
 * The rename `public.users.job_title → favourite_color` as `plan` records it for the table of
 * test/support/fixtures-generated.ts plus an index on the column: text NOT NULL DEFAULT 'unknown', index
 * users_job_title_idx, key id bigint, no release yet. `column` facts given replace the defaults one key at a time.
 */
export function usersJobTitleRename(
  options: { id?: string; column?: Partial<ColumnFacts>; releases?: PhaseReleases } = {},
): RenameChange {
  return {
    kind: 'rename',
    id: options.id ?? 'users-job-title',
    rename: { schema: 'public', table: 'users', from: 'job_title', to: 'favourite_color' },
    column: {
      type: 'text',
      nullable: false,
      default: "'unknown'::text",
      indexes: [
        {
          name: 'users_job_title_idx',
          unique: false,
          definition: 'CREATE INDEX users_job_title_idx ON public.users USING btree (job_title)',
        },
      ],
      constraints: [],
      ...options.column,
    },
    key: { columns: ['id'], types: ['bigint'] },
    releases: options.releases ?? {},
  };
}
