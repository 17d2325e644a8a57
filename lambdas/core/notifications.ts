import { ScError } from './errors.ts';
import { TERMINAL_STATUSES, type Execution, type ExecutionStatus } from './model.ts';
import { parseEmail } from './variables/email.ts';

/**
 * The notification emails sent when an execution ends (SPEC §7): who gets one, and what it says.
 * Dry runs notify like live runs: they end, and produce the same report, so the people watching the
 * connector want to see them too; the subject and body say it was a dry run.
 */

/** The connector settings that name recipients (connector.json `settings`). */
export interface NotificationSettings {
  /** Notified on every end. One address, or several separated by commas or semicolons. */
  notificationEmail?: string;
  /** Notified only when a run fails or partly succeeds. Same format as `notificationEmail`. */
  errorNotificationEmail?: string;
}

/** The statuses on which `errorNotificationEmail` is notified as well. */
const ERROR_STATUSES: ReadonlySet<ExecutionStatus> = new Set(['failed', 'partial_success']);

/**
 * Who is told that `execution` ended: `notificationEmail` always, `errorNotificationEmail` on `failed` or
 * `partial_success`, and the initiator when known. `initiatorEmail` is the initiator's address when the
 * caller knows one (a signed-in user); anything that is not an address, such as the CLI's `cli:<user>`,
 * counts as unknown. Addresses are trimmed and lowercased, and each appears once, in that order. No one
 * is notified of an execution that has not ended.
 */
export function notificationRecipients(
  settings: NotificationSettings,
  execution: Execution,
  initiatorEmail: string | null,
): string[] {
  if (!TERMINAL_STATUSES.has(execution.status)) return [];
  const lists = [settings.notificationEmail];
  if (ERROR_STATUSES.has(execution.status)) lists.push(settings.errorNotificationEmail);
  lists.push(initiatorEmail ?? undefined);
  const recipients = new Set<string>();
  for (const list of lists) for (const address of addresses(list)) recipients.add(address);
  return [...recipients];
}

/** The valid addresses of a setting; the connector schema accepts any string there, so others are dropped. */
function addresses(list: string | undefined): string[] {
  if (list === undefined) return [];
  return list
    .split(/[,;]/)
    .map((part) => parseEmail(part)?.toLowerCase())
    .filter((address) => address !== undefined);
}

export interface ExecutionEndedEmailOptions {
  /** A download link to the XLSX report; null when no report was built. */
  reportUrl: string | null;
  /** The connector's display name now (it may have been renamed since the run was pinned). */
  connectorName: string;
}

export interface EmailContent {
  subject: string;
  text: string;
}

/**
 * The execution-ended email: a one-line subject that tells the outcome in an inbox list, e.g.
 * `[SmartConnector] vendor_product_import: partial_success (6 of 7 rows valid)`, and a short plain-text
 * body with the status, the counts per scope and per step, the error and the report link.
 */
export function executionEndedEmail(execution: Execution, options: ExecutionEndedEmailOptions): EmailContent {
  const { status, endedAt } = execution;
  if (!TERMINAL_STATUSES.has(status) || endedAt === null) {
    throw new ScError(
      'EXECUTION_NOT_ENDED',
      `Execution ${execution.id} is ${status}: the execution-ended email is sent only once it has ended.`,
      { context: { executionId: execution.id } },
    );
  }
  return { subject: subject(execution), text: body(execution, options, endedAt) };
}

function subject(execution: Execution): string {
  const notes: string[] = [];
  if (execution.dryRun) notes.push('dry run');
  const { rows, valid } = rowTotals(execution);
  if (rows > 0) notes.push(`${valid} of ${rows} ${rows === 1 ? 'row' : 'rows'} valid`);
  else if (execution.error !== null) notes.push(execution.error.code);
  const suffix = notes.length > 0 ? ` (${notes.join(', ')})` : '';
  return `[SmartConnector] ${execution.connectorApiName}: ${execution.status}${suffix}`;
}

function rowTotals(execution: Execution): { rows: number; valid: number } {
  let rows = 0;
  let valid = 0;
  for (const scope of Object.values(execution.counts.scopes)) {
    rows += scope.rows;
    valid += scope.valid;
  }
  return { rows, valid };
}

const STATUS_SENTENCES: Record<ExecutionStatus, string> = {
  queued: 'is queued',
  running: 'is running',
  succeeded: 'succeeded',
  partial_success: 'partly succeeded: some rows were invalid or could not be loaded (see the report)',
  failed: 'failed',
  cancelled: 'was cancelled; rows not reached are reported unprocessed',
};

function body(execution: Execution, options: ExecutionEndedEmailOptions, endedAt: string): string {
  const e = execution;
  const lines = [
    `${options.connectorName} (${e.connectorApiName}, version ${e.connectorVersion}) ${STATUS_SENTENCES[e.status]}.`,
    '',
    `Status: ${e.status}`,
    `Mode: ${e.dryRun ? 'dry run (nothing was written)' : 'live'}${e.diffCheck ? ', diff check' : ''}`,
    `Execution: ${e.id}`,
    `Trigger: ${e.trigger}, by ${e.initiatedBy}`,
    `Started: ${e.startedAt ?? 'never'}`,
    `Ended: ${endedAt}${duration(e.startedAt, endedAt)}`,
  ];
  if (e.inputFile !== null) lines.push(`Input file: ${e.inputFile.name}`);

  const scopes = Object.entries(e.counts.scopes);
  if (scopes.length > 0) {
    lines.push('', 'Rows per scope:');
    for (const [name, c] of scopes) {
      lines.push(`  ${name}: ${c.rows} rows, ${c.valid} valid, ${c.invalid} invalid`);
    }
  }
  if (e.counts.steps.length > 0) {
    lines.push('', 'Rows per step:');
    for (const s of e.counts.steps) {
      lines.push(
        `  ${s.name} (${s.object}): ${s.created} created, ${s.updated} updated, ${s.unchanged} unchanged, ` +
          `${s.skipped} skipped, ${s.failed} failed, ${s.unprocessed} unprocessed`,
      );
    }
  }
  if (e.error !== null) lines.push('', `Error ${e.error.code}: ${e.error.message}`);
  lines.push(
    '',
    options.reportUrl === null ? 'No report was built.' : `Report (the link expires): ${options.reportUrl}`,
  );
  return lines.join('\n') + '\n';
}

function duration(startedAt: string | null, endedAt: string): string {
  if (startedAt === null) return '';
  const ms = Date.parse(endedAt) - Date.parse(startedAt);
  return Number.isFinite(ms) && ms >= 0 ? ` (${(ms / 1000).toFixed(1)} s)` : '';
}
