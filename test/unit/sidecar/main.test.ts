// `lull sidecar` as a process: environment, SIGTERM drain, exit.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpApp, type HttpApp } from '../../fixtures/http-app.ts';
import { freePort, HOST } from './helpers.ts';

const ROOT = resolve(import.meta.dirname, '../../..');

/** The sources (development) and the built artefact (what the image and the local cluster run). */
const ENTRIES = ['bin/lull.ts', 'dist/lull.mjs'];

function lull(entry: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [entry, 'sidecar'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, LULL_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return { child, output: () => output };
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: HOST, port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    })
      .on('error', reject)
      .end();
  });
}

describe.each(ENTRIES)('lull sidecar (%s)', (entry) => {
  let app: HttpApp;
  beforeAll(async () => {
    // A no-op when dist/ is newer than every source.
    if (entry.startsWith('dist/')) execFileSync(process.execPath, ['scripts/build.ts'], { cwd: ROOT, stdio: 'ignore' });
    app = await startHttpApp({ name: 'main' });
  });
  afterAll(() => app.close());

  it('serves until drained after SIGTERM, then exits 0', async () => {
    const [port, admin] = [await freePort(), await freePort()];
    const { child, output } = lull(entry, { LULL_PORTS: `${port}=${app.port}`, LULL_ADMIN_PORT: String(admin), LULL_DRAIN_QUIET: '300ms' });
    try {
      // The admin port comes up with the process; wait-ready long-polls from there.
      let ready = 0;
      while (ready !== 200) {
        ready = await fetch(`http://${HOST}:${admin}/lull/wait-ready?timeout=5s`).then((r) => r.status, () => 0);
        if (ready === 0) await new Promise((r) => setTimeout(r, 20)); // Not listening yet: nothing to await.
      }
      const slow = get(port, '/slow?ms=400');
      const exited = once(child, 'exit');
      await new Promise((r) => setTimeout(r, 50)); // Let the slow request arrive before the signal.
      const signalledAt = Date.now();
      child.kill('SIGTERM');
      // Still serving while draining.
      await new Promise((r) => setTimeout(r, 100));
      expect(await get(port, '/')).toBe(200);
      const lastAt = Date.now();
      expect(await slow).toBe(200);
      const [code] = await exited;
      expect(code).toBe(0);
      expect(Date.now() - lastAt).toBeGreaterThanOrEqual(250);
      expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(400);
      expect(output()).toContain('"msg":"drained; exiting"');
      await expect(get(port, '/')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses a bad environment, naming the variable', async () => {
    const { child, output } = lull(entry, { LULL_PORTS: 'eighty' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(output()).toContain('setting LULL_PORTS has value \\"eighty\\"');
  });
});
