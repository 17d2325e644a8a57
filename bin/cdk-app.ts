import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SmartConnectorStack } from '../lib/smart-connector-stack.ts';

// Under the cdk CLI, CDK_OUTDIR is set; run directly (node bin/cdk.js) it writes to cdk.out too.
const app = new App({ outdir: process.env.CDK_OUTDIR ?? 'cdk.out' });
// `cdk deploy -c clickHouseUrl=https://… -c clickHousePasswordSecretArn=arn:… [-c clickHouseUser=…]
// [-c clickHouseDatabasePrefix=…] [-c clickHouseRunUsers=0]`
// points RunSql at a ClickHouse service (docs/clickhouse-cloud.md).
const context = (key: string): string | undefined => app.node.tryGetContext(key) as string | undefined;
const clickHouseUrl = context('clickHouseUrl');
const passwordSecretArn = context('clickHousePasswordSecretArn');
if (clickHouseUrl && !passwordSecretArn) {
  throw new Error('clickHouseUrl needs clickHousePasswordSecretArn too (docs/clickhouse-cloud.md).');
}
const user = context('clickHouseUser');
const databasePrefix = context('clickHouseDatabasePrefix');
const runUsers = context('clickHouseRunUsers');
new SmartConnectorStack(app, 'SmartConnector', {
  description: 'SmartConnector: serverless batch ETL into typed records',
  ...(clickHouseUrl && passwordSecretArn
    ? {
        clickHouse: {
          url: clickHouseUrl,
          passwordSecretArn,
          ...(user ? { user } : {}),
          ...(databasePrefix ? { databasePrefix } : {}),
          ...(runUsers === undefined ? {} : { runUsers: String(runUsers) !== '0' }),
        },
      }
    : {}),
});
// cdk-nag's AwsSolutions pack: an unsuppressed error fails `cdk synth`; each suppression names its reason.
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
app.synth();
