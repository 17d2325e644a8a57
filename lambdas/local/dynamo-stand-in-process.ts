/**
 * The DynamoDB stand-in as a child process (see `startDynamoStandInProcess`): starts dynalite on the
 * database the parent names, answers `{ endpoint }` or `{ error }` over IPC, and stops when the parent
 * asks (SIGTERM) or goes away (IPC disconnect), closing LevelDB cleanly either way.
 */
import { ScError } from '../core/errors.ts';
import { startDynamoStandIn } from './dynamo-stand-in.ts';

const path = process.argv[2] || undefined;
try {
  const standIn = await startDynamoStandIn({ path });
  const stop = () => void standIn.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
  process.send?.({ endpoint: standIn.endpoint });
} catch (error) {
  const code = error instanceof ScError ? error.code : 'STAND_IN_FAILED';
  process.send?.({ error: { code, message: (error as Error).message } }, () => process.exit(1));
}
