import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorDefinitionInput } from '../../lambdas/core/connector-schema.ts';
import {
  counts,
  csvInput,
  openPipelineWorkspace,
  type ObjectSpec,
  type PipelineWorkspace,
} from '../helpers/pipeline.ts';

/*
 * Mapping through whole executions (SPEC §6 "Mapping" and "Triggers"): conflict policies across runs,
 * option labels and createOptions, and trigger events in the local event log.
 */

let ws: PipelineWorkspace;

const conflictsObject: ObjectSpec = {
  apiName: 'm_conflicts',
  name: 'Conflicts',
  fields: [
    { name: 'name', type: 'text' },
    { name: 'key', type: 'text' },
    { name: 'ow', type: 'text' },
    { name: 'owen', type: 'text' },
    { name: 'oub', type: 'text' },
    { name: 'tags', type: 'checkboxes', options: ['A', 'B', 'C'] },
  ],
};
const optionsObject = (apiName: string): ObjectSpec => ({
  apiName,
  name: 'Options',
  fields: [
    { name: 'name', type: 'text' },
    { name: 'color', type: 'dropdown', options: ['Red', 'Green'] },
    { name: 'tags', type: 'checkboxes', options: ['A', 'B'] },
  ],
});
const triggersObject: ObjectSpec = {
  apiName: 'm_triggers',
  name: 'Triggers',
  fields: [
    { name: 'name', type: 'text' },
    { name: 'key', type: 'text' },
    { name: 'city', type: 'text' },
  ],
};

beforeAll(async () => {
  ws = await openPipelineWorkspace([
    conflictsObject,
    optionsObject('m_options'),
    optionsObject('m_options_create'),
    optionsObject('m_options_chunks'),
    triggersObject,
  ]);
});
afterAll(async () => {
  await ws?.close();
});

describe('conflict policies across two runs', () => {
  const HEADER = ['key', 'name', 'ow', 'owen', 'oub', 'tags'];

  it('overwrite, overwrite_except_null, only_update_blank and only_add_options; unchanged rows', async () => {
    await ws.writeConnector('conflicts', {
      definition: {
        name: 'Conflicts',
        variables: [
          { name: 'key', type: 'string', required: true },
          { name: 'name', type: 'string' },
          { name: 'ow', type: 'string' },
          { name: 'owen', type: 'string' },
          { name: 'oub', type: 'string' },
          { name: 'tags', type: 'string', array: { delimiter: ',' } },
        ],
        loadSteps: [
          {
            name: 'Load',
            object: 'm_conflicts',
            matching: [{ field: 'key', variable: 'key' }],
            mapping: [
              { field: 'key', variable: 'key' },
              { field: 'name', variable: 'name' },
              { field: 'ow', variable: 'ow', conflict: 'overwrite' },
              { field: 'owen', variable: 'owen', conflict: 'overwrite_except_null' },
              { field: 'oub', variable: 'oub' },
              { field: 'tags', variable: 'tags', conflict: 'only_add_options' },
            ],
          },
        ],
      },
    });
    const first = await ws.run(
      'conflicts',
      csvInput(
        'run1.csv',
        HEADER,
        ['K1', 'One', 'x1', 'y1', 'z1', 'A,B'],
        ['K2', 'Two', 'x2', 'y2', 'z2', 'A'],
        ['K3', 'Three', 'x3', 'y3', '', 'B'],
      ),
    );
    expect(first.execution.status).toBe('succeeded');
    expect(first.step(0)).toEqual(counts({ created: 3 }));
    const before = new Map((await ws.records('m_conflicts')).map((r) => [r.fields.key, r]));

    const second = await ws.run(
      'conflicts',
      csvInput(
        'run2.csv',
        HEADER,
        // Blanks: overwrite clears ow, overwrite_except_null keeps owen; oub keeps its stored value;
        // the tags gain C (a known label in other case collapses onto A).
        ['K1', 'One', '', '', 'new', 'C,a'],
        // Exactly what the record holds.
        ['K2', 'Two', 'x2', 'y2', 'z2', 'A'],
        // Values: overwrite_except_null writes them, only_update_blank fills the blank oub.
        ['K3', 'Three', 'x3', 'y3-new', 'filled', 'B'],
      ),
    );
    expect(second.execution.status).toBe('succeeded');
    expect(second.step(0)).toEqual(counts({ updated: 2, unchanged: 1 }));

    const after = new Map((await ws.records('m_conflicts')).map((r) => [r.fields.key, r]));
    expect(after.get('K1')!.fields).toEqual({
      key: 'K1',
      name: 'One',
      owen: 'y1',
      oub: 'z1',
      tags: ['A', 'B', 'C'],
    });
    expect(after.get('K2')).toEqual(before.get('K2'));
    expect(after.get('K3')!.fields).toEqual({
      key: 'K3',
      name: 'Three',
      ow: 'x3',
      owen: 'y3-new',
      oub: 'filled',
      tags: ['B'],
    });
    expect(after.get('K1')!.updatedAt > before.get('K1')!.updatedAt).toBe(true);
    expect(after.get('K1')!.createdAt).toBe(before.get('K1')!.createdAt);

    const rows = (await ws.report(second.execution)).upload(0);
    expect(rows.map((r) => [r.Row, r.Status, r.Codes, r['Record ID']])).toEqual([
      [1, 'updated', null, before.get('K1')!.id],
      [2, 'unchanged', 'NO_CHANGES', before.get('K2')!.id],
      [3, 'updated', null, before.get('K3')!.id],
    ]);
    // Only what changed is written: the cleared ow (blank in the report) and the new tags.
    expect(rows[0]).toMatchObject({ ow: null, owen: null, oub: null, tags: 'A, B, C' });
    expect(rows[2]).toMatchObject({ owen: 'y3-new', oub: 'filled', tags: null });
  });
});

describe('option labels', () => {
  const HEADER = ['name', 'color', 'tags'];
  const definition = (name: string, object: string, createOptions: boolean, chunkSize = 1000) =>
    ({
      name,
      variables: [
        { name: 'name', type: 'string', required: true },
        { name: 'color', type: 'string' },
        { name: 'tags', type: 'string', array: { delimiter: '|' } },
      ],
      loadSteps: [
        {
          name: 'Load',
          object,
          matching: [{ field: 'name', variable: 'name' }],
          mapping: [
            { field: 'name', variable: 'name' },
            { field: 'color', variable: 'color', createOptions },
            { field: 'tags', variable: 'tags', createOptions },
          ],
        },
      ],
      settings: { chunkSize },
    }) satisfies ConnectorDefinitionInput;

  it('an unknown label fails the row with UNKNOWN_OPTION; known labels match case-insensitively', async () => {
    await ws.writeConnector('options', { definition: definition('Options', 'm_options', false) });
    const { execution, step } = await ws.run(
      'options',
      csvInput('in.csv', HEADER, ['One', 'green', 'a|B'], ['Two', 'Blue', 'A'], ['Three', 'Red', 'A|Z']),
    );
    expect(execution.status).toBe('partial_success');
    expect(step(0)).toEqual(counts({ created: 1, failed: 2 }));
    const rows = (await ws.report(execution)).upload(0);
    expect(rows.map((r) => [r.Status, r.Codes])).toEqual([
      ['created', null],
      ['failed', 'UNKNOWN_OPTION'],
      ['failed', 'UNKNOWN_OPTION'],
    ]);
    expect(String(rows[1]!.Errors)).toContain('"Blue"');
    expect(String(rows[2]!.Errors)).toContain('"Z"');
    expect((await ws.records('m_options')).map((r) => r.fields)).toEqual([
      { name: 'One', color: 'Green', tags: ['A', 'B'] },
    ]);
    expect((await ws.object('m_options')).fields.find((f) => f.apiName === 'color')!.options).toEqual([
      'Red',
      'Green',
    ]);
  });

  it('createOptions adds the label (OPTION_CREATED) and keeps it after a live run, not after a dry run', async () => {
    await ws.writeConnector('options_create', {
      definition: definition('Options create', 'm_options_create', true),
    });
    const input = csvInput(
      'in.csv',
      HEADER,
      ['One', 'Blue', 'A|Z'],
      // The same new label again, in other case: known by now, so no second warning.
      ['Two', 'BLUE', 'z'],
    );
    const optionsOf = async (field: string) =>
      (await ws.object('m_options_create')).fields.find((f) => f.apiName === field)!.options;

    const dry = await ws.run('options_create', input, { dryRun: true });
    expect(dry.execution.status).toBe('succeeded');
    expect(dry.step(0)).toEqual(counts({ created: 2 }));
    const dryRows = (await ws.report(dry.execution)).upload(0);
    expect(dryRows.map((r) => [r.Codes, r.color, r.tags])).toEqual([
      ['OPTION_CREATED', 'Blue', 'A, Z'],
      [null, 'Blue', 'Z'],
    ]);
    expect(await optionsOf('color')).toEqual(['Red', 'Green']);
    expect(await optionsOf('tags')).toEqual(['A', 'B']);
    expect(await ws.records('m_options_create')).toEqual([]);

    const live = await ws.run('options_create', input);
    expect(live.execution.status).toBe('succeeded');
    expect(live.step(0)).toEqual(counts({ created: 2 }));
    const liveRows = (await ws.report(live.execution)).upload(0);
    expect(liveRows.map((r) => [r.Codes, r.color, r.tags])).toEqual([
      ['OPTION_CREATED', 'Blue', 'A, Z'],
      [null, 'Blue', 'Z'],
    ]);
    expect(String(liveRows[0]!.Warnings)).toContain('"Blue"');
    expect(await optionsOf('color')).toEqual(['Red', 'Green', 'Blue']);
    expect(await optionsOf('tags')).toEqual(['A', 'B', 'Z']);
    expect((await ws.records('m_options_create')).map((r) => r.fields)).toEqual([
      { name: 'One', color: 'Blue', tags: ['A', 'Z'] },
      { name: 'Two', color: 'Blue', tags: ['Z'] },
    ]);

    // Applying the workspace again (every command does) keeps the created options.
    await ws.apply('options_create');
    expect(await optionsOf('color')).toEqual(['Red', 'Green', 'Blue']);
  });

  it('a dry run across chunks reports created options as the live run does', async () => {
    await ws.writeConnector('options_chunks', {
      definition: definition('Options chunks', 'm_options_chunks', true, 1),
    });
    const input = csvInput('in.csv', HEADER, ['One', 'Blue', 'A'], ['Two', 'blue', 'A']);
    const outcomes = async (dryRun: boolean) => {
      const { execution } = await ws.run('options_chunks', input, { dryRun });
      return (await ws.report(execution)).upload(0).map((r) => [r.Status, r.Codes, r.color]);
    };
    const dry = await outcomes(true);
    const live = await outcomes(false);
    expect(live).toEqual([
      ['created', 'OPTION_CREATED', 'Blue'],
      ['created', null, 'Blue'],
    ]);
    // Fails: the dry run gives ['created', 'OPTION_CREATED', 'blue'] for row 2.
    expect(dry).toEqual(live);
  });
});

describe('triggers', () => {
  const HEADER = ['key', 'name', 'city'];

  it('publish one event per created or updated record, none for unchanged rows or dry runs', async () => {
    await ws.writeConnector('triggers', {
      definition: {
        name: 'Triggers',
        variables: [
          { name: 'key', type: 'string', required: true },
          { name: 'name', type: 'string' },
          { name: 'city', type: 'string' },
        ],
        loadSteps: [
          {
            name: 'People',
            object: 'm_triggers',
            matching: [{ field: 'key', variable: 'key' }],
            mapping: [
              { field: 'key', variable: 'key' },
              { field: 'name', variable: 'name' },
              { field: 'city', variable: 'city', conflict: 'overwrite' },
            ],
            triggers: { onCreate: true, onUpdate: true },
          },
        ],
      },
    });
    const first = await ws.run(
      'triggers',
      csvInput('run1.csv', HEADER, ['K1', 'Ann', 'Oslo'], ['K2', 'Bob', 'Rome']),
    );
    expect(first.step(0)).toEqual(counts({ created: 2 }));
    const ids = new Map((await ws.records('m_triggers')).map((r) => [r.fields.key, r.id]));
    const firstEvents = await ws.events(first.execution.id);
    expect(firstEvents).toHaveLength(2);
    expect(firstEvents[0]).toEqual({
      type: 'record.created',
      object: 'm_triggers',
      recordId: ids.get('K1'),
      executionId: first.execution.id,
      connector: 'triggers',
      step: 'People',
      row: 1,
      time: expect.any(String),
      fields: { key: 'K1', name: 'Ann', city: 'Oslo' },
    });
    expect(firstEvents[1]).toMatchObject({ type: 'record.created', recordId: ids.get('K2'), row: 2 });

    const input = csvInput(
      'run2.csv',
      HEADER,
      ['K1', 'Ann', 'Paris'],
      ['K2', 'Bob', 'Rome'],
      ['K3', 'Cy', 'Lima'],
    );
    const dry = await ws.run('triggers', input, { dryRun: true });
    expect(dry.step(0)).toEqual(counts({ created: 1, updated: 1, unchanged: 1 }));
    expect(await ws.events(dry.execution.id)).toEqual([]);

    const second = await ws.run('triggers', input);
    expect(second.step(0)).toEqual(counts({ created: 1, updated: 1, unchanged: 1 }));
    const k3 = (await ws.records('m_triggers')).find((r) => r.fields.key === 'K3')!.id;
    expect(
      (await ws.events(second.execution.id)).map((e) => [e.type, e.recordId, e.row, e.step, e.fields.city]),
    ).toEqual([
      ['record.updated', ids.get('K1'), 1, 'People', 'Paris'],
      ['record.created', k3, 3, 'People', 'Lima'],
    ]);
    // Nothing else reached the log: two runs with events, four events.
    expect(await ws.events()).toHaveLength(4);
  });
});
