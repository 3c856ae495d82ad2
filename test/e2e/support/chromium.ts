// A headless Chromium (Debian's `chromium`) driven over the DevTools protocol: just enough to open a
// URL, read the page (Runtime.evaluate), emulate media features and take screenshots. One WebSocket
// to the browser, flattened sessions per page (https://chromedevtools.github.io/devtools-protocol/).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { WebSocket } from 'ws';
import { waitFor } from './wait.ts';

export interface Page {
  send<T = any>(method: string, params?: Record<string, unknown>): Promise<T>;
  /** The value of a JavaScript expression in the page (awaited when it is a promise). */
  evaluate<T = unknown>(expression: string): Promise<T>;
  screenshot(path: string): Promise<void>;
}

export interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export const CHROMIUM = process.env.LULL_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'lull-chromium-'));
  const child: ChildProcess = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox', // Tests run as root here; the sandbox refuses root.
      '--disable-gpu',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-extensions',
      '--disable-background-networking',
      '--disable-component-update',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      '--window-size=1024,768',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const portFile = join(profile, 'DevToolsActivePort');
  const [port, path] = await waitFor('Chromium to open its DevTools port', () => {
    if (child.exitCode !== null) throw new Error(`chromium exited (${child.exitCode}): ${stderr}`);
    return existsSync(portFile) && readFileSync(portFile, 'utf8').includes('\n') ? readFileSync(portFile, 'utf8').split('\n') : undefined;
  }, 30_000, 50);
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false });
  await once(ws, 'open');

  let nextId = 0;
  const pending = new Map<number, { resolve(v: any): void; reject(e: Error): void; method: string }>();
  ws.on('message', (data) => {
    const message = JSON.parse(String(data));
    if (message.id === undefined) return;
    const call = pending.get(message.id);
    pending.delete(message.id);
    if (message.error) call?.reject(new Error(`${call.method}: ${message.error.message}`));
    else call?.resolve(message.result);
  });
  const send = <T>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve, reject, method });
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

  return {
    async newPage() {
      const { targetId } = await send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = await send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
      const page: Page = {
        send: (method, params) => send(method, params, sessionId),
        async evaluate<T>(expression: string) {
          const r = await send<any>('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId);
          if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
          return r.result.value as T;
        },
        async screenshot(file) {
          const { data } = await send<{ data: string }>('Page.captureScreenshot', { format: 'png' }, sessionId);
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, Buffer.from(data, 'base64'));
        },
      };
      await page.send('Page.enable');
      await page.send('Runtime.enable');
      return page;
    },
    async close() {
      ws.close();
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
