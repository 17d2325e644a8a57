import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { renderPipelineAsl } from '../lib/render-asl.ts';
import { SmartConnectorStack } from '../lib/smart-connector-stack.ts';

/**
 * Writes lambdas/local/pipeline.asl.json: the pipeline state machine as the stack synthesises it, for the
 * local runtime (`npm run asl` after changing lib/pipeline.ts; a test fails while the file is stale).
 */
export function synthPipelineAsl(): object {
  // Lambda bundling is skipped: only the definition is wanted.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SmartConnectorStack(app, 'SmartConnector');
  return renderPipelineAsl(stack.pipeline);
}

export const ASL_CACHE = fileURLToPath(new URL('../lambdas/local/pipeline.asl.json', import.meta.url));
