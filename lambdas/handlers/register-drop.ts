import { handleIngestMessage } from '../pipeline/s3-drops.ts';
import { awsEnvironment, awsIngestStore, awsPorts } from './aws-ports.ts';
import { sqsHandler } from './sqs-handler.ts';

/** The ingest queue's consumer: S3 event notifications of files dropped under `drops/<apiName>/`. */
export const handler = sqsHandler(
  'register-drop',
  () => {
    const env = awsEnvironment();
    return { ports: awsPorts(env), ingest: awsIngestStore(env) };
  },
  ({ ports, ingest }, body) => handleIngestMessage(ports, ingest, body),
);
