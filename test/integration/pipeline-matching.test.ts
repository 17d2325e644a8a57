import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorDefinitionInput } from '../../lambdas/core/connector-schema.ts';
import {
  counts,
  csvInput,
  openPipelineWorkspace,
  storedRecord,
  type ObjectSpec,
  type PipelineWorkspace,
} from '../helpers/pipeline.ts';

/*
 * Matching through whole executions (SPEC §6 "Matching"): rows of the same run see each other, the four
 * actions of a rule, narrowing with next_rule, matching by record id, and archived records.
 */

let ws: PipelineWorkspace;

/** A contact object of its own per test, so record counts are exact. */
const contacts = (apiName: string): ObjectSpec => ({
  apiName,
  name: `Contacts ${apiName}`,
  fields: [
    { name: 'name', type: 'text' },
    { name: 'last_name', type: 'text' },
    { name: 'email', type: 'email' },
    { name: 'phone', type: 'text' },
  ],
});

const OBJECTS = [
  'c_same_run',
  'c_same_run_chunks',
  'c_same_run_dry',
  'c_actions',
  'c_narrow',
  'c_by_id',
  'c_archived',
];

beforeAll(async () => {
  ws = await openPipelineWorkspace(OBJECTS.map(contacts));
});
afterAll(async () => {
  await ws?.close();
});

const VARIABLES: ConnectorDefinitionInput['variables'] = [
  { name: 'name', type: 'string', required: true },
  { name: 'last_name', type: 'string' },
  { name: 'email', type: 'email' },
  { name: 'phone', type: 'string' },
];

/** A connector that loads contacts of `object`, matching by email with the given rule options. */
function byEmail(
  name: string,
  object: string,
  rule: Record<string, unknown> = {},
  settings: ConnectorDefinitionInput['settings'] = {},
): ConnectorDefinitionInput {
  return {
    name,
    variables: VARIABLES,
    loadSteps: [
      {
        name: 'Contacts',
        object,
        matching: [{ field: 'email', variable: 'email', ...rule }],
        mapping: [
          { field: 'name', variable: 'name' },
          { field: 'last_name', variable: 'last_name' },
          { field: 'email', variable: 'email' },
          { field: 'phone', variable: 'phone' },
        ],
      },
    ],
    settings,
  };
}

const HEADER = ['name', 'last_name', 'email', 'phone'];

describe('rows earlier in the same run are visible to later rows', () => {
  // Two rows with the same new key (the second in other case): one record is created, then updated.
  const input = csvInput(
    'contacts.csv',
    HEADER,
    ['Ann', 'Lee', 'ann@example.com', ''],
    ['Ann', 'Lee', 'ANN@Example.com', '555-0100'],
  );

  it('in one chunk: the first row creates the record, the second updates it', async () => {
    await ws.writeConnector('same_run', { definition: byEmail('Same run', 'c_same_run') });
    const { execution, step } = await ws.run('same_run', input);
    expect(execution.status).toBe('succeeded');
    expect(step(0)).toEqual(counts({ created: 1, updated: 1 }));

    const records = await ws.records('c_same_run');
    expect(records).toHaveLength(1);
    expect(records[0]!.fields).toEqual({
      name: 'Ann',
      last_name: 'Lee',
      email: 'ann@example.com',
      phone: '555-0100',
    });
    const rows = (await ws.report(execution)).upload(0);
    expect(rows.map((r) => [r.Row, r.Status, r['Record ID']])).toEqual([
      [1, 'created', records[0]!.id],
      [2, 'updated', records[0]!.id],
    ]);
  });

  it('across chunks (chunkSize 1): the second chunk finds what the first wrote', async () => {
    await ws.writeConnector('same_run_chunks', {
      definition: byEmail('Same run chunks', 'c_same_run_chunks', {}, { chunkSize: 1 }),
    });
    const { execution, step } = await ws.run('same_run_chunks', input);
    expect(execution.status).toBe('succeeded');
    expect(execution.progress).toMatchObject({ chunksDone: 2, chunksTotal: 2, rowsDone: 2, rowsTotal: 2 });
    expect(step(0)).toEqual(counts({ created: 1, updated: 1 }));
    const records = await ws.records('c_same_run_chunks');
    expect(records).toHaveLength(1);
    expect(records[0]!.fields.phone).toBe('555-0100');
  });

  it('in a dry run, in one chunk and across chunks: the same counts, and nothing written', async () => {
    for (const chunkSize of [1000, 1]) {
      const folder = `same_run_dry_${chunkSize}`;
      await ws.writeConnector(folder, {
        definition: byEmail(`Same run dry ${chunkSize}`, 'c_same_run_dry', {}, { chunkSize }),
      });
      const { execution, step } = await ws.run(folder, input, { dryRun: true });
      expect(execution.status).toBe('succeeded');
      expect(execution.dryRun).toBe(true);
      expect(step(0)).toEqual(counts({ created: 1, updated: 1 }));
      const rows = (await ws.report(execution)).upload(0);
      expect(rows.map((r) => r.Status)).toEqual(['created', 'updated']);
      // The update hits the record the dry run would have created.
      expect(rows[1]!['Record ID']).toBe(rows[0]!['Record ID']);
      expect(rows[1]!.phone).toBe('555-0100');
    }
    expect(await ws.records('c_same_run_dry')).toEqual([]);
  });
});

describe('matching actions', () => {
  it('onNoMatch do_not_upload skips with NO_MATCH_DO_NOT_UPLOAD; several matches skip with MULTIPLE_MATCHES', async () => {
    // Run 1 (no matching rules: always create) makes two Smiths and one Jones.
    await ws.writeConnector('actions_seed', {
      definition: {
        ...byEmail('Actions seed', 'c_actions'),
        loadSteps: [{ ...byEmail('x', 'c_actions').loadSteps![0]!, matching: [] }],
      },
    });
    const seed = await ws.run(
      'actions_seed',
      csvInput(
        'seed.csv',
        HEADER,
        ['Sam', 'Smith', 'sam@example.com', ''],
        ['Sue', 'Smith', 'sue@example.com', ''],
        ['Jon', 'Jones', 'jon@example.com', ''],
      ),
    );
    expect(seed.step(0)).toEqual(counts({ created: 3 }));

    await ws.writeConnector('actions_no_match', {
      definition: byEmail('Actions no match', 'c_actions', { onNoMatch: 'do_not_upload' }),
    });
    const noMatch = await ws.run(
      'actions_no_match',
      csvInput(
        'update.csv',
        HEADER,
        ['Jon', 'Jones', 'jon@example.com', '555-0101'],
        ['New', 'Person', 'new@example.com', ''],
        ['Blank', 'Email', '', ''],
      ),
    );
    // Skipped rows are what the connector was told to do: the run still succeeds.
    expect(noMatch.execution.status).toBe('succeeded');
    expect(noMatch.step(0)).toEqual(counts({ updated: 1, skipped: 2 }));
    const rows = (await ws.report(noMatch.execution)).upload(0);
    expect(rows.map((r) => [r.Row, r.Status, r.Codes, r['Matched Rule']])).toEqual([
      [1, 'updated', null, 1],
      [2, 'skipped', 'NO_MATCH_DO_NOT_UPLOAD', 1],
      // A blank match value counts as no match.
      [3, 'skipped', 'NO_MATCH_DO_NOT_UPLOAD', 1],
    ]);
    expect(String(rows[1]!.Warnings)).toContain('new@example.com');

    const byLastName: ConnectorDefinitionInput = {
      name: 'Actions by last name',
      variables: VARIABLES,
      loadSteps: [
        {
          name: 'Contacts',
          object: 'c_actions',
          matching: [{ field: 'last_name', variable: 'last_name' }],
          mapping: [{ field: 'phone', variable: 'phone', conflict: 'overwrite' }],
        },
      ],
    };
    await ws.writeConnector('actions_multiple', { definition: byLastName });
    const multiple = await ws.run(
      'actions_multiple',
      csvInput('smith.csv', HEADER, ['x', 'SMITH', '', '555-0199'], ['y', 'Jones', '', '555-0102']),
    );
    expect(multiple.execution.status).toBe('succeeded');
    expect(multiple.step(0)).toEqual(counts({ skipped: 1, updated: 1 }));
    const multipleRows = (await ws.report(multiple.execution)).upload(0);
    expect(multipleRows[0]).toMatchObject({
      Status: 'skipped',
      Codes: 'MULTIPLE_MATCHES',
      'Record ID': null,
    });
    expect(String(multipleRows[0]!.Warnings)).toMatch(/found 2 records/);

    const records = await ws.records('c_actions');
    expect(records.map((r) => [r.fields.name, r.fields.phone ?? null])).toEqual([
      ['Jon', '555-0102'],
      ['Sam', null],
      ['Sue', null],
    ]);
  });

  it('next_rule narrows the second rule to the first rule’s candidates (records of an earlier run)', async () => {
    await ws.writeConnector('narrow_seed', { definition: byEmail('Narrow seed', 'c_narrow') });
    const seed = await ws.run(
      'narrow_seed',
      csvInput(
        'seed.csv',
        HEADER,
        ['Sam', 'Smith', 'sam@example.com', ''],
        ['Sue', 'Smith', 'sue@example.com', ''],
        ['Jon', 'Jones', 'jon@example.com', ''],
      ),
    );
    expect(seed.step(0)).toEqual(counts({ created: 3 }));
    const before = new Map((await ws.records('c_narrow')).map((r) => [r.fields.name, r]));

    await ws.writeConnector('narrow', {
      definition: {
        name: 'Narrow',
        variables: VARIABLES,
        loadSteps: [
          {
            name: 'Contacts',
            object: 'c_narrow',
            matching: [
              { field: 'last_name', variable: 'last_name', onMultipleMatches: 'next_rule' },
              { field: 'email', variable: 'email', onNoMatch: 'do_not_upload' },
            ],
            mapping: [
              { field: 'name', variable: 'name' },
              { field: 'phone', variable: 'phone', conflict: 'overwrite' },
            ],
          },
        ],
      },
    });
    const { execution, step } = await ws.run(
      'narrow',
      csvInput(
        'narrow.csv',
        HEADER,
        // Two Smiths → rule 2 finds Sue among them.
        ['-', 'Smith', 'sue@example.com', '555-0201'],
        // Two Smiths → rule 2 looks for Jon's email among the Smiths only: no match, not uploaded.
        ['-', 'Smith', 'jon@example.com', '555-0202'],
        // One Jones → rule 1 updates him.
        ['-', 'Jones', 'nobody@example.com', '555-0203'],
        // No one → rule 1 creates (default onNoMatch) with the mapped name and phone.
        ['Bob', 'Brown', 'brown@example.com', '555-0204'],
      ),
    );
    expect(execution.status).toBe('succeeded');
    expect(step(0)).toEqual(counts({ updated: 2, skipped: 1, created: 1 }));
    const rows = (await ws.report(execution)).upload(0);
    expect(rows.map((r) => [r.Status, r['Matched Rule'], r.Codes, r['Record ID']])).toEqual([
      ['updated', 2, null, before.get('Sue')!.id],
      ['skipped', 2, 'NO_MATCH_DO_NOT_UPLOAD', null],
      ['updated', 1, null, before.get('Jon')!.id],
      ['created', 1, null, rows[3]!['Record ID']],
    ]);

    const after = new Map((await ws.records('c_narrow')).map((r) => [r.id, r]));
    expect(after.size).toBe(4);
    expect(after.get(before.get('Sue')!.id)!.fields.phone).toBe('555-0201');
    expect(after.get(before.get('Jon')!.id)!.fields.phone).toBe('555-0203');
    expect(after.get(before.get('Sam')!.id)!.fields.phone).toBeUndefined();
    // only_update_blank kept the stored names.
    expect([...after.values()].map((r) => r.fields.name).sort()).toEqual(['Bob', 'Jon', 'Sam', 'Sue']);
    expect(after.get(String(rows[3]!['Record ID']))!.fields).toEqual({ name: 'Bob', phone: '555-0204' });
  });

  it('matchByRecordId updates the record an earlier run created', async () => {
    await ws.writeConnector('by_id_seed', { definition: byEmail('By id seed', 'c_by_id') });
    await ws.run('by_id_seed', csvInput('seed.csv', HEADER, ['Ann', 'Lee', 'ann@example.com', '']));
    const [ann] = await ws.records('c_by_id');

    await ws.writeConnector('by_id', {
      definition: {
        name: 'By id',
        variables: [
          { name: 'rid', type: 'string' },
          { name: 'phone', type: 'string' },
        ],
        loadSteps: [
          {
            name: 'Contacts',
            object: 'c_by_id',
            matching: [{ matchByRecordId: true, variable: 'rid', onNoMatch: 'do_not_upload' }],
            mapping: [{ field: 'phone', variable: 'phone' }],
          },
        ],
      },
    });
    const { execution, step } = await ws.run(
      'by_id',
      csvInput(
        'ids.csv',
        ['rid', 'phone'],
        [ann!.id, '555-0300'],
        ['00000000-0000-4000-8000-000000000000', '555-0301'],
      ),
    );
    expect(execution.status).toBe('succeeded');
    expect(step(0)).toEqual(counts({ updated: 1, skipped: 1 }));
    const rows = (await ws.report(execution)).upload(0);
    expect(rows.map((r) => [r.Status, r['Record ID'], r.Codes])).toEqual([
      ['updated', ann!.id, null],
      ['skipped', null, 'NO_MATCH_DO_NOT_UPLOAD'],
    ]);
    const records = await ws.records('c_by_id');
    expect(records).toHaveLength(1);
    expect(records[0]!.fields).toEqual({
      name: 'Ann',
      last_name: 'Lee',
      email: 'ann@example.com',
      phone: '555-0300',
    });
  });
});

describe('archived records', () => {
  const ARCHIVED_AT = '2024-01-01T00:00:00.000Z';
  const ids = {
    createNew: '11111111-1111-4111-8111-111111111111',
    unarchive: '22222222-2222-4222-8222-222222222222',
    skip: '33333333-3333-4333-8333-333333333333',
    only: '44444444-4444-4444-8444-444444444444',
  };

  beforeAll(async () => {
    await ws.writeRecords('c_archived', [
      storedRecord(
        'c_archived',
        ids.createNew,
        { name: 'Old A', email: 'a@example.com' },
        { archived: true },
      ),
      storedRecord(
        'c_archived',
        ids.unarchive,
        { name: 'Old B', email: 'b@example.com' },
        { archived: true },
      ),
      storedRecord('c_archived', ids.skip, { name: 'Old C', email: 'c@example.com' }, { archived: true }),
      storedRecord('c_archived', ids.only, { name: 'Old D', email: 'd@example.com' }, { archived: true }),
    ]);
  });

  const row = (email: string) => csvInput('row.csv', HEADER, ['New', '', email, '555-0400']);

  it('onArchivedMatch create_new (the default) creates a new record and leaves the archived one', async () => {
    await ws.writeConnector('archived_create', { definition: byEmail('Archived create', 'c_archived') });
    const { execution, step } = await ws.run('archived_create', row('a@example.com'));
    expect(step(0)).toEqual(counts({ created: 1 }));
    const rows = (await ws.report(execution)).upload(0);
    expect(rows[0]!['Record ID']).not.toBe(ids.createNew);
    const matching = (await ws.records('c_archived')).filter((r) => r.fields.email === 'a@example.com');
    expect(matching.map((r) => [r.id === ids.createNew, r.archived, r.fields.name])).toEqual([
      [false, false, 'New'],
      [true, true, 'Old A'],
    ]);
    expect(matching[1]!.updatedAt).toBe(ARCHIVED_AT);
  });

  it('onArchivedMatch unarchive_and_update brings the archived record back and updates it', async () => {
    await ws.writeConnector('archived_unarchive', {
      definition: byEmail('Archived unarchive', 'c_archived', { onArchivedMatch: 'unarchive_and_update' }),
    });
    const { execution, step } = await ws.run('archived_unarchive', row('b@example.com'));
    expect(execution.status).toBe('succeeded');
    expect(step(0)).toEqual(counts({ updated: 1 }));
    const matching = (await ws.records('c_archived')).filter((r) => r.fields.email === 'b@example.com');
    expect(matching).toHaveLength(1);
    expect(matching[0]!.id).toBe(ids.unarchive);
    expect(matching[0]!.archived).toBe(false);
    // only_update_blank (the default) keeps the stored name and fills the blank phone.
    expect(matching[0]!.fields).toEqual({ name: 'Old B', email: 'b@example.com', phone: '555-0400' });
    expect(matching[0]!.updatedAt > ARCHIVED_AT).toBe(true);
  });

  it('onArchivedMatch do_not_upload skips with ARCHIVED_MATCH_DO_NOT_UPLOAD and writes nothing', async () => {
    await ws.writeConnector('archived_skip', {
      definition: byEmail('Archived skip', 'c_archived', { onArchivedMatch: 'do_not_upload' }),
    });
    const { execution, step } = await ws.run('archived_skip', row('c@example.com'));
    expect(step(0)).toEqual(counts({ skipped: 1 }));
    const rows = (await ws.report(execution)).upload(0);
    expect(rows[0]).toMatchObject({ Status: 'skipped', Codes: 'ARCHIVED_MATCH_DO_NOT_UPLOAD' });
    const matching = (await ws.records('c_archived')).filter((r) => r.fields.email === 'c@example.com');
    expect(matching).toEqual([
      storedRecord('c_archived', ids.skip, { name: 'Old C', email: 'c@example.com' }, { archived: true }),
    ]);
  });

  it('onArchivedMatch unarchive_only brings the record back without writing the row’s values', async () => {
    await ws.writeConnector('archived_only', {
      definition: byEmail('Archived only', 'c_archived', { onArchivedMatch: 'unarchive_only' }),
    });
    const { execution, step } = await ws.run('archived_only', row('d@example.com'));
    expect(step(0)).toEqual(counts({ updated: 1 }));
    const rows = (await ws.report(execution)).upload(0);
    expect(rows[0]).toMatchObject({ Status: 'updated', 'Record ID': ids.only, Codes: null, phone: null });
    const matching = (await ws.records('c_archived')).filter((r) => r.fields.email === 'd@example.com');
    expect(matching).toHaveLength(1);
    expect(matching[0]).toMatchObject({ id: ids.only, archived: false });
    expect(matching[0]!.fields).toEqual({ name: 'Old D', email: 'd@example.com' });
  });
});
