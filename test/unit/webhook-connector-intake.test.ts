import { describe, expect, it } from 'vitest';
import { connectorDefinitionSchema } from '../../lambdas/core/connector-schema.ts';
import { ScError } from '../../lambdas/core/errors.ts';
import {
  WEBHOOKS_RAW_COLUMNS,
  batchesWebhookCalls,
  storedQueryString,
  storedWebhook,
  webhookRawRow,
  type WebhookCall,
  type WebhookBodyFormat,
} from '../../lambdas/core/webhook-intake.ts';

const RECEIVED_AT = Date.parse('2026-12-04T06:00:01.250Z');

function call(overrides: Partial<WebhookCall> & { contentType?: string; text?: string } = {}): WebhookCall {
  const { contentType, text, ...rest } = overrides;
  return {
    receiptId: 'r-1',
    receivedAt: RECEIVED_AT,
    query: {},
    headers: contentType === undefined ? {} : { 'content-type': contentType },
    body: Buffer.from(text ?? '', 'utf8'),
    ...rest,
  };
}

const rowOf = (c: WebhookCall) => webhookRawRow(storedWebhook(c));

describe('storedWebhook: what a call is stored as', () => {
  it('drops every credential header and keeps the rest, with lower-case names', () => {
    const stored = storedWebhook(
      call({
        headers: {
          'content-type': 'application/json',
          'x-api-key': 'sc_secret',
          authorization: 'Bearer sc_secret',
          'x-webhook-token': 'tok',
          cookie: 'session=1',
          'proxy-authorization': 'Basic eA==',
          'X-Shopify-Topic': 'orders/create',
          'user-agent': 'curl/8',
          'x-absent': undefined,
        },
        text: '{}',
      }),
    );
    expect(stored.headers).toEqual({
      'content-type': 'application/json',
      'x-shopify-topic': 'orders/create',
      'user-agent': 'curl/8',
    });
    expect(stored.contentType).toBe('application/json');
  });

  it('keeps a header named __proto__ as a header, not a prototype', () => {
    const headers = JSON.parse('{"__proto__": "x", "a": "1"}') as Record<string, string>;
    const stored = storedWebhook(call({ headers }));
    expect(Object.getPrototypeOf(stored.headers)).toBe(Object.prototype);
    expect(Object.keys(stored.headers)).toEqual(['__proto__', 'a']);
    expect(webhookRawRow(stored).headers).toBe('{"__proto__":"x","a":"1"}');
  });

  it.each([
    [{ token: 'tok', a: '1' }, 'a=1'],
    [{ a: 'x y', b: 'ä&=' }, 'a=x+y&b=%C3%A4%26%3D'],
    [{ token: 'tok' }, ''],
    [{ a: undefined, b: '' }, 'b='],
  ])('stores the query %j without the token as %j', (query, expected) => {
    expect(storedQueryString(query)).toBe(expected);
  });

  it('keeps a UTF-8 body as text and any other body as base64', () => {
    expect(storedWebhook(call({ text: 'héllo' }))).toMatchObject({ body: 'héllo', bodyEncoding: 'utf8' });
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    expect(storedWebhook(call({ body: bytes }))).toMatchObject({
      body: bytes.toString('base64'),
      bodyEncoding: 'base64',
    });
  });

  it.each([
    ['application/json', '{"a": '],
    ['application/json; charset=utf-8', 'not json'],
    ['application/vnd.api+json', '{"a": 1} trailing'],
    ['text/json', "{'a': 1}"],
  ])('refuses a body declared %s that does not parse, naming the fix', (contentType, text) => {
    let thrown: unknown;
    try {
      storedWebhook(call({ contentType, text }));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ScError);
    expect((thrown as ScError).code).toBe('INVALID_JSON_BODY');
    expect((thrown as ScError).message).toContain(`Content-Type is ${contentType}`);
    expect((thrown as ScError).message).toContain('Send valid JSON');
  });

  it('refuses a body declared JSON that is not UTF-8', () => {
    expect(() =>
      storedWebhook(call({ contentType: 'application/json', body: Buffer.from([0x7b, 0xff, 0x7d]) })),
    ).toThrow(/not UTF-8 text/);
  });

  it('takes an empty body declared JSON (a ping): the query string carries the data', () => {
    expect(rowOf(call({ contentType: 'application/json', query: { id: '7' } }))).toMatchObject({
      body_format: 'query',
      body_json: '{"id":"7"}',
    });
  });
});

describe('webhookRawRow: one row of input.webhooks_raw', () => {
  it('has every column, in order, all strings', () => {
    const row = rowOf(
      call({
        contentType: 'application/json',
        text: '{"order": {"id": 42}}',
        query: { source: 'shop', token: 'tok' },
        headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
      }),
    );
    expect(Object.keys(row)).toEqual([...WEBHOOKS_RAW_COLUMNS]);
    expect(row).toEqual({
      received_at: String(RECEIVED_AT),
      querystring: 'source=shop',
      headers: '{"content-type":"application/json"}',
      body: '{"order": {"id": 42}}',
      receipt_id: 'r-1',
      body_format: 'json',
      body_json: '{"order": {"id": 42}}',
    });
  });

  const cases: Array<
    [string, Partial<WebhookCall> & { contentType?: string; text?: string }, WebhookBodyFormat, unknown]
  > = [
    ['a JSON object', { contentType: 'application/json', text: '{"a":1}' }, 'json', { a: 1 }],
    [
      'a JSON object with a charset',
      { contentType: 'Application/JSON; charset=UTF-8', text: '{"a":1}' },
      'json',
      { a: 1 },
    ],
    [
      'a +json media type',
      { contentType: 'application/cloudevents+json', text: '{"type":"x"}' },
      'json',
      { type: 'x' },
    ],
    ['a JSON array, wrapped', { contentType: 'application/json', text: '[1, 2]' }, 'json', { value: [1, 2] }],
    [
      'a JSON string, wrapped',
      { contentType: 'application/json', text: '"ping"' },
      'json',
      { value: 'ping' },
    ],
    ['a JSON null, wrapped', { contentType: 'application/json', text: 'null' }, 'json', { value: null }],
    ['undeclared JSON', { text: ' {"a": true} ' }, 'json', { a: true }],
    ['undeclared text', { text: 'hello there' }, 'text', {}],
    [
      'a form',
      { contentType: 'application/x-www-form-urlencoded', text: 'name=Ann+Lee&city=K%C3%B6ln' },
      'form',
      { name: 'Ann Lee', city: 'Köln' },
    ],
    [
      'a form with a repeated field',
      { contentType: 'application/x-www-form-urlencoded', text: 'tag=a&tag=b&tag=c&one=1' },
      'form',
      { tag: ['a', 'b', 'c'], one: '1' },
    ],
    [
      'a form field named __proto__',
      { contentType: 'application/x-www-form-urlencoded', text: '__proto__=x' },
      'form',
      JSON.parse('{"__proto__":"x"}'),
    ],
    ['a query string alone', { query: { a: '1', b: 'two', token: 't' } }, 'query', { a: '1', b: 'two' }],
    ['nothing at all', {}, 'empty', {}],
    ['XML', { contentType: 'application/xml', text: '<a>1</a>' }, 'text', {}],
    ['plain text that looks like JSON', { contentType: 'text/plain', text: '{"a":1}' }, 'text', {}],
    [
      'multipart (not parsed)',
      { contentType: 'multipart/form-data; boundary=x', text: '--x\r\n' },
      'text',
      {},
    ],
    ['bytes that are not UTF-8', { body: Buffer.from([0xc3, 0x28]) }, 'binary', {}],
  ];
  it.each(cases)('reads %s', (_, overrides, format, json) => {
    const row = rowOf(call(overrides));
    expect(row.body_format).toBe(format);
    expect(JSON.parse(row.body_json)).toEqual(json);
  });

  it('keeps every digit of an integer beyond 2^53 in body_json', () => {
    const text = '{"id": 12345678901234567890, "list": [9007199254740993]}';
    expect(rowOf(call({ contentType: 'application/json', text })).body_json).toBe(text);
    expect(rowOf(call({ contentType: 'application/json', text: '[9007199254740993]' })).body_json).toBe(
      '{"value":[9007199254740993]}',
    );
  });

  it('drops a UTF-8 byte order mark', () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]);
    expect(rowOf(call({ contentType: 'application/json', body }))).toMatchObject({
      body: '{"a":1}',
      body_format: 'json',
    });
  });
});

describe('batchesWebhookCalls: whether a version batches calls', () => {
  const cases: Array<[string, { type: 'webhook' | 'scheduler' | 'spreadsheet'; cadence?: string }, boolean]> =
    [
      ['a webhook connector with a cadence', { type: 'webhook', cadence: 'rate(1 minute)' }, true],
      ['a webhook connector without a cadence (no tick closes a window)', { type: 'webhook' }, false],
      [
        'a scheduler connector (its ticks run, they batch nothing)',
        { type: 'scheduler', cadence: 'rate(1 hour)' },
        false,
      ],
      ['a spreadsheet connector', { type: 'spreadsheet', cadence: 'rate(1 hour)' }, false],
    ];
  it.each(cases)('%s: %s', (_, { type, cadence }, batches) => {
    const settings = connectorDefinitionSchema.shape.settings.parse(cadence === undefined ? {} : { cadence });
    expect(batchesWebhookCalls({ type, settings })).toBe(batches);
  });
});
