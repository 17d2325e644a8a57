import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorMessage } from '../core/errors.ts';
import { executionEndedEmail, notificationRecipients } from '../core/notifications.ts';
import type { ConnectorDefinition } from '../core/connector-schema.ts';
import type { Execution } from '../core/model.ts';
import { loadContext } from './context.ts';
import { deliverExecutionEnded } from './deliver-webhook.ts';
import type { Ports } from './ports.ts';

/**
 * Tells the world an execution ended (SPEC §7): POSTs the execution-ended webhook when the connector has a
 * URL, recording every attempt on the execution, and sends the notification emails. A notification that
 * fails never changes how the run ended.
 */
export async function notifyExecutionEnded(ports: Ports, executionId: string): Promise<Execution> {
  const { execution, definition } = await loadContext(ports, executionId);
  const { settings } = definition;
  const reportUrl = execution.reportKey ? linkTo(ports.blobs.location(execution.reportKey)) : null;

  if (settings.executionEndedWebhookUrl) await deliverWebhook(ports, execution, settings, reportUrl);

  const to = notificationRecipients(settings, execution, null);
  if (to.length > 0) {
    try {
      await ports.mailer.send({
        to,
        ...executionEndedEmail(execution, { reportUrl, connectorName: definition.name }),
      });
    } catch (error) {
      process.emitWarning(
        `The notification email for execution ${executionId} was not sent: ${errorMessage(error)}`,
      );
    }
  }
  return (await ports.executions.get(executionId)) ?? execution;
}

/** What the webhook queue carries: a delivery to continue after its delay. */
export interface WebhookRetryMessage {
  executionId: string;
  /** Attempts made so far, and when the first began (the retry window is counted from it). */
  attempts: number;
  firstAttemptAt: string;
}

/**
 * Continues a pending delivery from the webhook queue: one attempt, then — still failing within the hour
 * — the next is queued again with its backoff delay. A delivery that ended meanwhile is left alone.
 */
export async function continueWebhookDelivery(ports: Ports, message: WebhookRetryMessage): Promise<void> {
  const { execution, definition } = await loadContext(ports, message.executionId);
  if (execution.webhook?.status !== 'pending' || execution.webhook.attempts.length !== message.attempts)
    return;
  if (!definition.settings.executionEndedWebhookUrl) return;
  const reportUrl = execution.reportKey ? linkTo(ports.blobs.location(execution.reportKey)) : null;
  await deliverWebhook(ports, execution, definition.settings, reportUrl, message);
}

/**
 * Attempts the webhook for as long as this runtime waits (`maxWebhookWaitSeconds`) and records every
 * attempt on the execution. Still pending after that, it is handed to the webhook queue with the next
 * delay when the runtime has one (AWS); without one (`sc run`) it stays `pending`.
 */
async function deliverWebhook(
  ports: Ports,
  execution: Execution,
  settings: ConnectorDefinition['settings'],
  reportUrl: string | null,
  resume?: WebhookRetryMessage,
): Promise<void> {
  const delivery = await deliverExecutionEnded({
    url: settings.executionEndedWebhookUrl!,
    secret: settings.webhookSecret,
    execution,
    reportUrl,
    inputFileUrl: execution.inputFile ? linkTo(ports.blobs.location(execution.inputFile.key)) : null,
    urlExpiresAt: null,
    policy: { allowLoopback: ports.notifications.allowLoopback },
    maxWaitSeconds: ports.notifications.maxWebhookWaitSeconds,
    ...(resume ? { resume: { attempts: resume.attempts, firstAttemptAt: resume.firstAttemptAt } } : {}),
  });
  const attempts = [...(resume ? (execution.webhook?.attempts ?? []) : []), ...delivery.attempts];
  await ports.executions.update(execution.id, { webhook: { status: delivery.status, attempts } });
  if (delivery.status === 'pending' && ports.webhookQueue && attempts.length > 0) {
    const next: WebhookRetryMessage = {
      executionId: execution.id,
      attempts: attempts.length,
      firstAttemptAt: attempts[0]!.at,
    };
    await ports.webhookQueue.send(next, { delaySeconds: delivery.nextDelaySeconds });
  }
}

/** Locally a blob's location is a file path; links in webhooks and emails are URLs. */
function linkTo(location: string): string {
  return isAbsolute(location) ? pathToFileURL(location).href : location;
}
