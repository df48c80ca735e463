import { expect, test } from 'vitest';
import { derivedObjects } from '../../src/operations/index.js';
import {
  insertFunctionName,
  insertTriggerName,
  moveGuardSetting,
  notNullCheckName,
  syncTriggerNames,
} from '../../src/operations/naming.js';
import { parsePhasesText } from '../../src/spec/load.js';
import { allChanges } from '../../src/spec/types.js';

/**
 * The names phase 1 creates in a database are a contract between phasectl versions: phases 2 and 3 of a later
 * version run on objects that phase 1 of an earlier one created (docs/design-notes.md, "Files written by another
 * phasectl version"). They are derived from what phases.yaml records, by src/operations/naming.ts. If this test
 * fails, a change of naming would leave a database mid-flight with objects the next phase does not find (a sync
 * function replaced under another name keeps the old authority running): record the new name in phases.yaml at
 * `plan` instead (as `rename.syncTrigger` is) and keep deriving these for changes that do not record one.
 */
const phases = parsePhasesText(
  `version: 1
releases: [1.4.0]
changes:
  - id: users-job-title-to-favourite-color
    rename: { schema: public, table: users, from: job_title, to: favourite_color }
    column:
      type: text
      nullable: false
      default: "'unknown'::text"
      indexes:
        - { name: users_job_title_idx, unique: false, definition: CREATE INDEX users_job_title_idx ON public.users USING btree (job_title) }
        - { name: users_job_title_key, unique: true, constraint: users_job_title_key, definition: CREATE UNIQUE INDEX users_job_title_key ON public.users USING btree (job_title) }
      constraints:
        - { name: users_job_title_check, kind: check, definition: CHECK ((length(job_title) <= 200)) }
        - { name: users_job_title_key, kind: unique, definition: UNIQUE (job_title) }
    key: { columns: [ id ], types: [ bigint ] }
    releases: { phase1: 1.4.0 }
  - id: users-address-to-profiles
    move:
      from: { schema: public, table: users, column: address }
      to: { schema: public, table: profiles, column: address }
      on: [ { from: id, to: user_id } ]
    column:
      type: text
      nullable: true
      indexes:
        - { name: users_address_idx, unique: false, definition: CREATE INDEX users_address_idx ON public.users USING btree (address) }
      constraints: []
    key: { columns: [ id ], types: [ bigint ] }
    target: { existingColumn: false, uniqueIndex: profiles_user_id_key }
    releases: { phase1: 1.4.0 }
`,
  'phases.yaml',
).spec;

test('the names phase 1 creates do not change between phasectl versions', () => {
  const names = allChanges(phases).flatMap((change) =>
    derivedObjects(change).map(
      (object) => `${change.id}: ${object.kind} ${object.schema}.${object.table} ${object.name}`,
    ),
  );
  expect(names).toMatchInlineSnapshot(`
    [
      "users-job-title-to-favourite-color: index public.users users_favourite_color_idx",
      "users-job-title-to-favourite-color: index public.users users_favourite_color_key",
      "users-job-title-to-favourite-color: constraint public.users users_favourite_color_not_null_check",
      "users-job-title-to-favourite-color: constraint public.users users_favourite_color_check",
      "users-job-title-to-favourite-color: constraint public.users users_favourite_color_key",
      "users-job-title-to-favourite-color: trigger public.users zz_phasectl_sync_users_job_title_to_favourite_color",
      "users-job-title-to-favourite-color: function phasectl. sync_users_job_title_to_favourite_color",
      "users-job-title-to-favourite-color: trigger public.users zz_phasectl_sync_users_job_title_to_favourite_color$insert_old",
      "users-job-title-to-favourite-color: trigger public.users zz_phasectl_sync_users_job_title_to_favourite_color$copy",
      "users-job-title-to-favourite-color: function phasectl. sync_users_job_title_to_favourite_color$copy",
      "users-job-title-to-favourite-color: function phasectl. sync_users_job_title_to_favourite_color$insert",
      "users-job-title-to-favourite-color: function phasectl. sync_users_job_title_to_favourite_color$insert_old",
      "users-job-title-to-favourite-color: function phasectl. sync_users_job_title_to_favourite_color$insert_new",
      "users-address-to-profiles: index public.profiles profiles_address_idx",
      "users-address-to-profiles: trigger public.users zz_phasectl_sync_users_address_to_profiles",
      "users-address-to-profiles: trigger public.users zz_phasectl_sync_users_address_to_profiles$insert",
      "users-address-to-profiles: trigger public.users zz_phasectl_sync_users_address_to_profiles$inserted",
      "users-address-to-profiles: trigger public.profiles zz_phasectl_sync_users_address_to_profiles",
      "users-address-to-profiles: trigger public.profiles zz_phasectl_sync_users_address_to_profiles$insert",
      "users-address-to-profiles: trigger public.profiles zz_phasectl_sync_users_address_to_profiles$inserted",
      "users-address-to-profiles: function phasectl. sync_users_address_to_profiles",
      "users-address-to-profiles: function phasectl. sync_users_address_to_profiles_target",
    ]
  `);
  const id = 'users-job-title-to-favourite-color';
  expect({
    triggers: syncTriggerNames(id, undefined),
    recorded: syncTriggerNames(id, 'zzz_phasectl_sync_users_job_title_to_favourite_color'),
    insertTrigger: insertTriggerName(id),
    insertFunctions: [insertFunctionName(id, 'any'), insertFunctionName(id, 'old'), insertFunctionName(id, 'new')],
    notNull: notNullCheckName('users', 'favourite_color'),
    moveGuard: moveGuardSetting('users-address-to-profiles'),
  }).toMatchInlineSnapshot(`
    {
      "insertFunctions": [
        "sync_users_job_title_to_favourite_color$insert",
        "sync_users_job_title_to_favourite_color$insert_old",
        "sync_users_job_title_to_favourite_color$insert_new",
      ],
      "insertTrigger": "zz_phasectl_sync_users_job_title_to_favourite_color$insert",
      "moveGuard": "phasectl.move_users_address_to_profiles",
      "notNull": "users_favourite_color_not_null_check",
      "recorded": {
        "copyTriggerName": "zzz_phasectl_sync_users_job_title_to_favourite_color$copy",
        "insertOldTriggerName": "zzz_phasectl_sync_users_job_title_to_favourite_color$insert_old",
        "insertTriggerName": "zzz_phasectl_sync_users_job_title_to_favourite_color$insert",
        "triggerName": "zzz_phasectl_sync_users_job_title_to_favourite_color",
      },
      "triggers": {
        "copyTriggerName": "zz_phasectl_sync_users_job_title_to_favourite_color$copy",
        "insertOldTriggerName": "zz_phasectl_sync_users_job_title_to_favourite_color$insert_old",
        "insertTriggerName": "zz_phasectl_sync_users_job_title_to_favourite_color$insert",
        "triggerName": "zz_phasectl_sync_users_job_title_to_favourite_color",
      },
    }
  `);
});
