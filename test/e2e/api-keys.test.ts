import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, copyExample, sc, scJson } from '../helpers/cli.ts';

/*
 * API keys as a user manages them: `sc keys create|list|revoke` on a copy of the catalog example, and
 * `sc serve`, which on its first start with no usable key creates one and prints it; a revoked key is
 * refused with 403.
 */

let example: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  example = await copyExample('catalog');
});
afterAll(async () => {
  await example?.cleanup();
});

interface KeyJson {
  id: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

/** Runs `sc serve` until `use` is done; returns what it printed. */
async function serving(use: (api: string, output: string) => Promise<void>): Promise<string> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/sc.js'), 'serve', '--port', '0'], {
    cwd: example.dir,
    env: { ...process.env, SC_WORKSPACE: '' },
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  try {
    const start = Date.now();
    while (!/API keys: /.test(output)) {
      if (child.exitCode !== null || Date.now() - start > 60_000)
        throw new Error(`sc serve did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await use(/listening on (http:\S+)/.exec(output)![1]!, output);
  } finally {
    child.kill('SIGINT');
    await new Promise((done) => child.once('exit', done));
  }
  return output;
}

describe('sc serve and sc keys', () => {
  it('creates a key on the first start with none, and prints it once', async () => {
    let firstKey = '';
    await serving(async (api, output) => {
      firstKey = /API key \(created because the workspace had none.*\): (sc_\S+)/.exec(output)?.[1] ?? '';
      expect(firstKey).toMatch(/^sc_[A-Za-z0-9_-]{32}$/);
      const listed = await fetch(`${api}/connectors`, { headers: { 'x-api-key': firstKey } });
      expect(listed.status).toBe(200);
      const page = (await listed.json()) as { items: Array<{ apiName: string }>; nextCursor: string | null };
      expect(page.items.map((c) => c.apiName)).toContain('vendor_product_import');
      expect((await fetch(`${api}/connectors`)).status).toBe(401);
      const openapi = await fetch(`${api}/openapi.json`);
      expect(openapi.status).toBe(200);
      expect(await openapi.json()).toMatchObject({ openapi: '3.1.0', servers: [{ url: api }] });
    });
    const again = await serving(async () => {});
    expect(again).not.toMatch(/API key \(created/);

    const listed = await scJson<KeyJson[]>(['keys', 'list'], { cwd: example.dir });
    expect(listed.code).toBe(0);
    expect(listed.json).toEqual([expect.objectContaining({ name: 'sc serve', revokedAt: null })]);
    expect(JSON.stringify(listed.json)).not.toContain(firstKey);
  });

  it('creates, lists and revokes keys; a revoked key gets 403', async () => {
    const created = await scJson<{ id: string; name: string; key: string }>(
      ['keys', 'create', '--name', 'ci'],
      {
        cwd: example.dir,
      },
    );
    expect(created.code).toBe(0);
    expect(created.json).toEqual({ id: expect.any(String), name: 'ci', key: expect.stringMatching(/^sc_/) });

    const plain = await sc(['keys', 'create'], { cwd: example.dir });
    expect(plain.code).toBe(0);
    expect(plain.stdout.trim()).toMatch(/^sc_[A-Za-z0-9_-]{32}$/);
    expect(plain.stderr).toContain('shown once');

    const revoked = await scJson<KeyJson>(['keys', 'revoke', created.json.id], { cwd: example.dir });
    expect(revoked.code).toBe(0);
    expect(revoked.json).toMatchObject({ id: created.json.id, name: 'ci', revokedAt: expect.any(String) });

    const text = await sc(['keys', 'list'], { cwd: example.dir });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`${created.json.id}\\s+ci\\s+\\S+\\s+revoked `));
    expect(text.stdout).toContain('3 key(s), 2 active');
    expect(text.stdout).not.toContain(created.json.key);

    await serving(async (api) => {
      const refused = await fetch(`${api}/connectors`, { headers: { 'x-api-key': created.json.key } });
      expect(refused.status).toBe(403);
      const allowed = await fetch(`${api}/connectors`, { headers: { 'x-api-key': plain.stdout.trim() } });
      expect(allowed.status).toBe(200);
    });
  });

  it('says what is wrong with a bad keys command', async () => {
    const unknown = await scJson<{ error: { code: string; message: string } }>(
      ['keys', 'revoke', 'no-such-id'],
      {
        cwd: example.dir,
      },
    );
    expect(unknown.code).toBe(2);
    expect(unknown.json.error.code).toBe('API_KEY_NOT_FOUND');
    expect(unknown.json.error.message).toContain('sc keys list');
    const old = await sc(['api-key', 'create', 'x'], { cwd: example.dir });
    expect(old.code).toBe(2);
    expect(old.stderr).toContain("unknown command 'api-key'");
  });
});
