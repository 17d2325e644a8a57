import { App } from 'aws-cdk-lib';
import { SmartConnectorStack } from '../lib/smart-connector-stack.ts';

// Under the cdk CLI, CDK_OUTDIR is set; run directly (node bin/cdk.js) it writes to cdk.out too.
const app = new App({ outdir: process.env.CDK_OUTDIR ?? 'cdk.out' });
new SmartConnectorStack(app, 'SmartConnector', {
  description: 'SmartConnector: serverless batch ETL into typed records',
});
app.synth();
