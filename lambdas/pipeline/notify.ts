import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorMessage } from '../core/errors.ts';
import { executionEndedEmail, notificationRecipients } from '../core/notifications.ts';
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

  const url = settings.executionEndedWebhookUrl;
  if (url) {
    const delivery = await deliverExecutionEnded({
      url,
      secret: settings.webhookSecret,
      execution,
      reportUrl,
      inputFileUrl: execution.inputFile ? linkTo(ports.blobs.location(execution.inputFile.key)) : null,
      urlExpiresAt: null,
      policy: { allowLoopback: ports.notifications.allowLoopback },
      maxWaitSeconds: ports.notifications.maxWebhookWaitSeconds,
    });
    await ports.executions.update(executionId, {
      webhook: { status: delivery.status, attempts: delivery.attempts },
    });
  }

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

/** Locally a blob's location is a file path; links in webhooks and emails are URLs. */
function linkTo(location: string): string {
  return isAbsolute(location) ? pathToFileURL(location).href : location;
}
