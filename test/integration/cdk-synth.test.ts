import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ASL_CACHE, synthPipelineAsl } from '../../bin/synth-asl.ts';

describe('the synthesised pipeline', () => {
  it('matches the definition the local runtime runs (lambdas/local/pipeline.asl.json; `npm run asl` refreshes it)', () => {
    const cached = JSON.parse(readFileSync(ASL_CACHE, 'utf8')) as unknown;
    expect(cached).toEqual(synthPipelineAsl());
  });

  it('`cdk synth` works offline, with no account and no Docker, bundling every Lambda with esbuild', () => {
    const out = mkdtempSync(join(tmpdir(), 'sc-cdk-out-'));
    try {
      const result = spawnSync('node', ['bin/cdk.js'], {
        env: { ...process.env, CDK_OUTDIR: out },
        encoding: 'utf8',
        timeout: 300_000,
      });
      expect(result.stderr).not.toMatch(/AwsSolutions-\\w+/);
      expect(result.status).toBe(0);
      const template = JSON.parse(readFileSync(join(out, 'SmartConnector.template.json'), 'utf8')) as {
        Resources: Record<string, { Type: string; Properties: { Handler?: string } }>;
      };
      const handlers = Object.values(template.Resources).filter(
        (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler === 'index.handler',
      );
      expect(handlers.length).toBeGreaterThanOrEqual(6);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});
