// The waiting page end to end on the local cluster, in a real browser: a sleeping app with
// lull.dev/waiting-page opened in headless Chromium (Debian's `chromium`, driven over the DevTools
// protocol) shows the interceptor's page at once, which is accessible, follows the wake and ends on the
// app's own content; API clients to the same app are held and get the app's answer; without JavaScript
// the meta refresh gets there too; a custom page comes from the app's ConfigMap (the interceptor's RBAC).
// Screenshots are kept in test-results/waiting-page/.
import { existsSync, statSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../cluster/layout.ts';
import { CHROMIUM, launchChromium, type Browser, type Page } from './support/chromium.ts';
import { startStack, until, type Stack } from './support/stack.ts';

const skip = inject('clusterSkipReason');
const FIXTURE = resolve(REPO_ROOT, 'test/fixtures/http-app.ts');
const ARTEFACTS = resolve(REPO_ROOT, 'test-results/waiting-page');
const CHROME_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

function app(name: string, annotations: Record<string, string>) {
  return {
    deployment: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, annotations: { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '1s', ...annotations } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          // Starts listening 4 s after its process starts: a wake long enough to see the page.
          spec: { containers: [{ name: 'app', image: 'node:24', command: ['node', FIXTURE, '--port', '8080', '--name', name, '--delay', '4000'], ports: [{ name: 'http', containerPort: 8080 }] }] },
        },
      },
    },
    service: { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
  };
}

const APPS = {
  page: app('page', { 'lull.dev/waiting-page': 'true' }),
  custom: app('custom', { 'lull.dev/waiting-page': 'configmap/custom-page' }),
};

const CUSTOM_PAGE = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'custom-page' },
  data: { 'page.html': '<!doctype html><html lang="fr"><head><title>{{app}} se réveille</title>{{refresh}}</head><body><p role="status">{{app}} ({{namespace}}) se réveille depuis {{elapsed}}</p>{{script}}</body></html>' },
};

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function call(url: string, headers: Record<string, string>): Promise<Reply> {
  return new Promise((done, fail) => {
    const req = request(url, { agent: false, headers, timeout: 120_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`${url} timed out`)));
    req.on('error', fail);
    req.end();
  });
}

/** What the page shows now; '' while a navigation replaces the document. */
const shown = (page: Page) => page.evaluate<string>('document.title + "\\n" + (document.body ? document.body.innerText : "")').catch(() => '');

/**
 * WCAG 2 contrast of every element that shows text, from the colours the page's CSS computes
 * (background: the nearest ancestor's that is not transparent). The lowest ratio and where.
 */
const LOWEST_CONTRAST = `(() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3); } return [255, 255, 255]; };
  let lowest = { ratio: Infinity, text: '' };
  for (const el of document.body.querySelectorAll('*')) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join(' ').trim();
    if (!text || el.closest('script,style,noscript')) continue;
    const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < lowest.ratio) lowest = { ratio, text };
  }
  return lowest;
})()`;

describe.skipIf(skip !== null)('the waiting page on the local cluster, in Chromium', () => {
  let stack: Stack;
  let ns: string;
  let browser: Browser;

  const asleep = (name: string, timeoutMs = 120_000) =>
    until(`${name} to sleep`, async () => {
      const d = await stack.getJson(['get', 'deploy', name, '-n', ns]);
      if (d.spec.replicas !== 0 || d.metadata.annotations?.['lull.dev/state'] !== 'sleeping') return false;
      if ((await stack.getJson(['get', 'pods', '-n', ns, '-l', `app=${name}`])).items.length > 0) return false;
      const slices = (await stack.getJson(['get', 'endpointslices', '-n', ns, '-l', `kubernetes.io/service-name=${name}`])).items as any[];
      const lull = slices.find((s) => s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] === 'reconciler.lull.dev');
      if (!lull?.endpoints?.some((e: any) => e.conditions?.ready !== false)) return false;
      return `http://${(await stack.getJson(['get', 'svc', name, '-n', ns])).spec.clusterIP}/`;
    }, timeoutMs, 100);

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (scripts/install-deps.sh does), or set LULL_CHROMIUM`);
    stack = await startStack({ scope: 'waiting', kubeconfig: inject('kubeconfig'), kubectl: inject('kubectl') });
    ns = await stack.namespace('lull-e2e-wait');
    await stack.apply({ ...CUSTOM_PAGE, metadata: { ...CUSTOM_PAGE.metadata, namespace: ns } });
    for (const { deployment, service } of Object.values(APPS)) {
      await stack.apply({ ...deployment, metadata: { ...deployment.metadata, namespace: ns } });
      await stack.apply({ ...service, metadata: { ...service.metadata, namespace: ns } });
    }
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
    await stack?.stop();
  });

  it('holds an API client to the sleeping app and gives it the app\'s answer, not the page', async () => {
    const url = await asleep('page');
    const reply = await call(url, { accept: 'application/json' });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('hello from page\n');
    expect(reply.headers['x-lull-waiting-page']).toBeUndefined();
  }, 180_000);

  it('shows a browser the page at once, accessible, and ends on the app\'s own content', async () => {
    const url = await asleep('page');
    const page = await browser.newPage();
    await page.send('Emulation.setEmulatedMedia', { features: [{ name: 'prefers-reduced-motion', value: 'reduce' }] });
    const started = Date.now();
    await page.send('Page.navigate', { url });
    await until('the waiting page', async () => (await shown(page)).startsWith('page is waking up\n') || undefined, 10_000, 20);
    const pageAfterMs = Date.now() - started;
    await page.screenshot(resolve(ARTEFACTS, 'waiting.png'));

    // While the app wakes, an API client is held and answered by the app.
    const api = call(url, { accept: 'application/json' });

    expect(await page.evaluate('document.documentElement.lang')).toBe('en');
    expect(await page.evaluate('document.title')).toBe('page is waking up');
    expect(await page.evaluate('document.querySelector("[role=status]").getAttribute("aria-live")')).toBe('polite');
    expect(await page.evaluate('document.body.innerText')).toMatch(/Waiting for \d+ s · namespace lull-e2e-wait-/);
    const lowest = await page.evaluate<{ ratio: number; text: string }>(LOWEST_CONTRAST);
    expect(lowest.ratio, `contrast of "${lowest.text}"`).toBeGreaterThanOrEqual(4.5);
    // Reduced motion: the pulsing dot stands still; with motion allowed it pulses (so the check can fail).
    expect(await page.evaluate('getComputedStyle(document.querySelector(".dot")).animationName')).toBe('none');
    await page.send('Emulation.setEmulatedMedia', { features: [{ name: 'prefers-reduced-motion', value: 'no-preference' }] });
    expect(await page.evaluate('getComputedStyle(document.querySelector(".dot")).animationName')).toBe('pulse');
    // No external asset: every resource the page loaded is its own document.
    expect(await page.evaluate('performance.getEntriesByType("resource").map((e) => e.name).filter((n) => !n.includes("/.lull/wait"))')).toEqual([]);

    await until("the app's own content", async () => (await shown(page)).trim() === 'hello from page' || undefined, 90_000, 50);
    const appAfterMs = Date.now() - started;
    await page.screenshot(resolve(ARTEFACTS, 'app.png'));
    console.log(`waiting page after ${pageAfterMs} ms; the app's content after ${appAfterMs} ms`);
    expect(pageAfterMs).toBeLessThan(3000);

    const held = await api;
    expect(held.status).toBe(200);
    expect(held.body).toBe('hello from page\n');
    expect(statSync(resolve(ARTEFACTS, 'waiting.png')).size).toBeGreaterThan(1000);
  }, 240_000);

  it('gets there without JavaScript too, through the meta refresh', async () => {
    const url = await asleep('page');
    const page = await browser.newPage();
    await page.send('Emulation.setScriptExecutionDisabled', { value: true });
    await page.send('Page.navigate', { url });
    await until('the waiting page', async () => (await shown(page)).startsWith('page is waking up\n') || undefined, 10_000, 20);
    await until("the app's own content", async () => (await shown(page)).trim() === 'hello from page' || undefined, 90_000, 100);
  }, 240_000);

  it("serves the app's custom page from its ConfigMap, read under the interceptor's own RBAC", async () => {
    const url = await asleep('custom');
    const reply = await call(url, { accept: CHROME_ACCEPT, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' });
    expect(reply.status).toBe(503);
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.headers['retry-after']).toBe('5');
    expect(reply.body).toMatch(new RegExp(`<title>custom se réveille</title>.*<p role="status">custom \\(${ns}\\) se réveille depuis \\d+ s</p><script nonce=`, 's'));
    const events = (await stack.getJson(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=custom,reason=WaitingPageUnavailable'])).items;
    expect(events).toEqual([]);
  }, 180_000);
});
