import { describe, expect, it } from 'vitest';
import { ScError } from '../../lambdas/core/errors.ts';
import type { Execution, ExecutionStatus } from '../../lambdas/core/model.ts';
import { executionEndedEmail, notificationRecipients } from '../../lambdas/core/notifications.ts';
import { catalogRunExecution } from '../helpers/factories.ts';

const execution = catalogRunExecution;

const BOTH = { notificationEmail: 'ops@example.com', errorNotificationEmail: 'alerts@example.com' };
const USER = 'maria.lopez@example.com';

describe('notificationRecipients', () => {
  const cases: {
    status: ExecutionStatus;
    dryRun: boolean;
    settings: { notificationEmail?: string; errorNotificationEmail?: string };
    initiator: string | null;
    expected: string[];
  }[] = [
    // notificationEmail on every end; errorNotificationEmail only on failed or partial_success.
    { status: 'succeeded', dryRun: false, settings: BOTH, initiator: null, expected: ['ops@example.com'] },
    {
      status: 'partial_success',
      dryRun: false,
      settings: BOTH,
      initiator: null,
      expected: ['ops@example.com', 'alerts@example.com'],
    },
    {
      status: 'failed',
      dryRun: false,
      settings: BOTH,
      initiator: null,
      expected: ['ops@example.com', 'alerts@example.com'],
    },
    { status: 'cancelled', dryRun: false, settings: BOTH, initiator: null, expected: ['ops@example.com'] },
    // Dry runs end too, and notify the same people.
    {
      status: 'succeeded',
      dryRun: true,
      settings: BOTH,
      initiator: USER,
      expected: ['ops@example.com', USER],
    },
    {
      status: 'partial_success',
      dryRun: true,
      settings: BOTH,
      initiator: null,
      expected: ['ops@example.com', 'alerts@example.com'],
    },
    {
      status: 'failed',
      dryRun: true,
      settings: BOTH,
      initiator: USER,
      expected: ['ops@example.com', 'alerts@example.com', USER],
    },
    { status: 'cancelled', dryRun: true, settings: {}, initiator: USER, expected: [USER] },
    // Not ended: nobody.
    { status: 'queued', dryRun: false, settings: BOTH, initiator: USER, expected: [] },
    { status: 'running', dryRun: true, settings: BOTH, initiator: USER, expected: [] },
    // The initiator, when known, on every end.
    { status: 'succeeded', dryRun: false, settings: {}, initiator: USER, expected: [USER] },
    { status: 'failed', dryRun: false, settings: {}, initiator: USER, expected: [USER] },
    // Nothing configured, nobody known.
    { status: 'failed', dryRun: false, settings: {}, initiator: null, expected: [] },
    // Only the error address: told of failures, not of successes.
    {
      status: 'succeeded',
      dryRun: false,
      settings: { errorNotificationEmail: 'alerts@example.com' },
      initiator: null,
      expected: [],
    },
    {
      status: 'partial_success',
      dryRun: false,
      settings: { errorNotificationEmail: 'alerts@example.com' },
      initiator: null,
      expected: ['alerts@example.com'],
    },
  ];

  it.each(cases)(
    '$status (dry run: $dryRun), initiator $initiator → $expected',
    ({ status, dryRun, settings, initiator, expected }) => {
      expect(notificationRecipients(settings, execution({ status, dryRun }), initiator)).toEqual(expected);
    },
  );

  it.each([
    ['the CLI user', 'cli:maria'],
    ['an API key name', 'api-key:nightly-import'],
    ['the system', 'system'],
    ['a blank', '  '],
  ])('ignores an initiator that is not an email address: %s', (_, initiator) => {
    expect(notificationRecipients(BOTH, execution({ status: 'succeeded' }), initiator)).toEqual([
      'ops@example.com',
    ]);
  });

  it('lowercases, trims and lists each address once, in settings order', () => {
    const settings = { notificationEmail: ' Ops@Example.COM ', errorNotificationEmail: 'ops@example.com' };
    expect(notificationRecipients(settings, execution({ status: 'failed' }), 'OPS@example.com')).toEqual([
      'ops@example.com',
    ]);
  });

  it('reads several addresses separated by commas or semicolons, dropping what is not an address', () => {
    const settings = {
      notificationEmail: 'a@example.com, B@example.com;c@example.com',
      errorNotificationEmail: 'not an address, d@example.com',
    };
    expect(notificationRecipients(settings, execution({ status: 'failed' }), null)).toEqual([
      'a@example.com',
      'b@example.com',
      'c@example.com',
      'd@example.com',
    ]);
  });
});

const REPORT_URL = 'https://artifacts.example.com/executions/73e8b225/report.xlsx?X-Amz-Signature=abc';

describe('executionEndedEmail', () => {
  it('writes the catalog run: outcome in the subject, counts per scope and step, the report link', () => {
    const email = executionEndedEmail(execution(), {
      reportUrl: REPORT_URL,
      connectorName: 'Vendor product import',
    });
    expect(email.subject).toBe('[SmartConnector] vendor_product_import: partial_success (6 of 7 rows valid)');
    expect(email.text).toBe(
      [
        'Vendor product import (vendor_product_import, version 3) partly succeeded: some rows were invalid or could not be loaded (see the report).',
        '',
        'Status: partial_success',
        'Mode: live',
        'Execution: 73e8b225-a51f-47ef-93fd-a196c7122062',
        'Trigger: upload, by maria.lopez@example.com',
        'Started: 2025-06-12T14:30:05.412Z',
        'Ended: 2025-06-12T14:30:52.724Z (47.3 s)',
        'Input file: catalog.csv',
        '',
        'Rows per scope:',
        '  catalog: 7 rows, 6 valid, 1 invalid',
        '',
        'Rows per step:',
        '  Vendors (vendors): 4 created, 0 updated, 2 unchanged, 0 skipped, 0 failed, 0 unprocessed',
        '  Products (products): 5 created, 0 updated, 0 unchanged, 0 skipped, 1 failed, 0 unprocessed',
        '',
        `Report (the link expires): ${REPORT_URL}`,
        '',
      ].join('\n'),
    );
  });

  const subjects: { name: string; overrides: Partial<Execution>; subject: string }[] = [
    {
      name: 'a succeeded run',
      overrides: {
        status: 'succeeded',
        counts: { scopes: { default: { rows: 1, valid: 1, invalid: 0 } }, steps: [] },
      },
      subject: '[SmartConnector] vendor_product_import: succeeded (1 of 1 row valid)',
    },
    {
      name: 'a dry run',
      overrides: { dryRun: true },
      subject: '[SmartConnector] vendor_product_import: partial_success (dry run, 6 of 7 rows valid)',
    },
    {
      name: 'rows summed over scopes',
      overrides: {
        counts: {
          scopes: { a: { rows: 3, valid: 2, invalid: 1 }, b: { rows: 4, valid: 4, invalid: 0 } },
          steps: [],
        },
      },
      subject: '[SmartConnector] vendor_product_import: partial_success (6 of 7 rows valid)',
    },
    {
      name: 'a failure before any row, with its code',
      overrides: {
        status: 'failed',
        counts: { scopes: {}, steps: [] },
        error: { code: 'SQL_ASSERTION_FAILED', message: 'The SQL assertion failed.' },
      },
      subject: '[SmartConnector] vendor_product_import: failed (SQL_ASSERTION_FAILED)',
    },
    {
      name: 'a run cancelled while queued',
      overrides: { status: 'cancelled', startedAt: null, counts: { scopes: {}, steps: [] } },
      subject: '[SmartConnector] vendor_product_import: cancelled',
    },
  ];

  it.each(subjects)('subject of $name', ({ overrides, subject }) => {
    const email = executionEndedEmail(execution(overrides), { reportUrl: null, connectorName: 'Vendors' });
    expect(email.subject).toBe(subject);
    expect(email.subject).not.toMatch(/[\r\n]/);
  });

  it('says a dry run wrote nothing, and tells the error and a missing report', () => {
    const { text } = executionEndedEmail(
      execution({
        status: 'failed',
        dryRun: true,
        diffCheck: true,
        error: {
          code: 'STOPPED_FAILED_ROWS',
          message: 'Step Products failed 60% of its rows; fix the data.',
        },
      }),
      { reportUrl: null, connectorName: 'Renamed import' },
    );
    expect(text).toContain('Renamed import (vendor_product_import, version 3) failed.\n');
    expect(text).toContain('Mode: dry run (nothing was written), diff check\n');
    expect(text).toContain(
      '\nError STOPPED_FAILED_ROWS: Step Products failed 60% of its rows; fix the data.\n',
    );
    expect(text).toContain('\nNo report was built.\n');
  });

  it('leaves out the duration and input file of a run that never started', () => {
    const { text } = executionEndedEmail(
      execution({ status: 'cancelled', startedAt: null, inputFile: null, counts: { scopes: {}, steps: [] } }),
      { reportUrl: null, connectorName: 'Vendor product import' },
    );
    expect(text).toContain('Started: never\nEnded: 2025-06-12T14:30:52.724Z\n');
    expect(text).not.toContain('Input file');
    expect(text).not.toContain('Rows per');
  });

  it.each(['queued', 'running'] as const)('refuses an execution that is %s', (status) => {
    const call = () =>
      executionEndedEmail(execution({ status, endedAt: null }), { reportUrl: null, connectorName: 'x' });
    expect(call).toThrow(ScError);
    expect(call).toThrow(/sent only once it has ended/);
  });
});
