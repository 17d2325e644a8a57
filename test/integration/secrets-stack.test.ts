import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { Pipeline } from '../../lib/pipeline.ts';
import { Storage } from '../../lib/storage.ts';

/*
 * Who may read connector secrets in AWS: the RunSql Lambda, `secretsmanager:GetSecretValue` on
 * `smartconnector/*` only. The pipeline construct alone, synthesised offline without bundling.
 */

interface Statement {
  Action: string | string[];
  Resource: unknown;
}

let policies: Array<{ roles: string; statements: Statement[] }>;

beforeAll(() => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'SecretsTest');
  new Pipeline(stack, 'Pipeline', { storage: new Storage(stack, 'Storage'), mailFrom: 'sc@example.com' });
  policies = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).map((policy) => ({
    roles: JSON.stringify(policy.Properties.Roles),
    statements: policy.Properties.PolicyDocument.Statement as Statement[],
  }));
});

const readsSecrets = (statement: Statement) =>
  [statement.Action].flat().some((action) => action.startsWith('secretsmanager:'));

describe('connector secrets in the stack', () => {
  it('lets the RunSql Lambda, and no other, read secrets under smartconnector/ only', () => {
    const granted = policies.filter((policy) => policy.statements.some(readsSecrets));
    expect(granted).toHaveLength(1);
    expect(granted[0]!.roles).toContain('RunSqlFunctionServiceRole');
    const statements = granted[0]!.statements.filter(readsSecrets);
    expect(statements).toHaveLength(1);
    expect(statements[0]!.Action).toBe('secretsmanager:GetSecretValue');
    const resource = JSON.stringify(statements[0]!.Resource);
    expect(resource).toContain(':secretsmanager:');
    expect(resource).toContain(':secret:smartconnector/*');
  });
});
