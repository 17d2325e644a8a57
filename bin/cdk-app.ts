import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SmartConnectorStack } from '../lib/smart-connector-stack.ts';

// Under the cdk CLI, CDK_OUTDIR is set; run directly (node bin/cdk.js) it writes to cdk.out too.
const app = new App({ outdir: process.env.CDK_OUTDIR ?? 'cdk.out' });
new SmartConnectorStack(app, 'SmartConnector', {
  description: 'SmartConnector: serverless batch ETL into typed records',
});
// cdk-nag's AwsSolutions pack: an unsuppressed error fails `cdk synth`; each suppression names its reason.
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
app.synth();
