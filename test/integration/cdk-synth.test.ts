import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ASL_CACHE, synthPipelineAsl } from '../../bin/synth-asl.ts';
import { loadPipelineAsl } from '../../lambdas/local/state-machine.ts';

describe('the synthesised pipeline', () => {
  it('matches the definition the local runtime runs (lambdas/local/pipeline.asl.json; `npm run asl` refreshes it)', () => {
    const cached = JSON.parse(readFileSync(ASL_CACHE, 'utf8')) as unknown;
    expect(cached).toEqual(synthPipelineAsl());
  });

  it("gives every Task a timeout over its Lambda's, which the local runtime keeps too (it would default to 60 s)", () => {
    const tasks: Array<{ name: string; TimeoutSeconds?: number }> = [];
    const walk = (states: Record<string, Record<string, unknown>>) => {
      for (const [name, state] of Object.entries(states)) {
        if (state.Type === 'Task') tasks.push({ name, ...state });
        for (const branch of (state.Branches ?? []) as Array<{ States: typeof states }>) walk(branch.States);
        const iterator = (state.ItemProcessor ?? state.Iterator) as { States: typeof states } | undefined;
        if (iterator) walk(iterator.States);
      }
    };
    walk(loadPipelineAsl().States as unknown as Record<string, Record<string, unknown>>);
    expect(tasks.length).toBeGreaterThanOrEqual(6);
    for (const task of tasks) expect(task.TimeoutSeconds, task.name).toBeGreaterThanOrEqual(60);
    // LoadChunks hands back after its budget (600 s locally and in AWS): its Task must outlast that.
    const loadChunks = tasks.filter((task) => task.name.startsWith('LoadChunks'));
    expect(loadChunks.length).toBeGreaterThan(0);
    for (const task of loadChunks) expect(task.TimeoutSeconds).toBeGreaterThan(600 + 60);
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
