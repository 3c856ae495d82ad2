// The waiting page end to end on the local cluster, in a real browser: a sleeping app with
// lull.dev/waiting-page opened in headless Chromium (Debian's `chromium`, driven over the DevTools
// protocol) shows the interceptor's page at once, which is accessible, follows the wake and ends on the
// app's own content; API clients to the same app are held and get the app's answer; without JavaScript
// the meta refresh gets there too; a custom page comes from the app's ConfigMap (the interceptor's RBAC).
// Screenshots are kept in test-results/waiting-page/.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO_ROOT } from '../cluster/layout.ts';
import { asleepBehindInterceptor } from './support/asleep.ts';
import { CHROMIUM, launchChromium, type Browser, type Page } from './support/chromium.ts';
import { applyApps, appService, fixtureApp } from './support/fixture-apps.ts';
import { request } from './support/http.ts';
import { clusterKubectl, onCluster } from './support/kube.ts';
import { startStack, type Stack } from './support/stack.ts';
import { waitFor } from './support/wait.ts';

const ARTEFACTS = resolve(REPO_ROOT, 'test-results/waiting-page');
const CHROME_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

// Starts listening 4 s after its process starts: a wake long enough to see the page.
const app = (name: string, annotations: Record<string, string>) => ({
  deployment: fixtureApp(name, { annotations: { 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '1s', ...annotations }, args: ['--delay', '4000'] }),
  service: appService(name),
});

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

const call = (url: string, headers: Record<string, string>) => request(url, { headers, timeoutMs: 120_000 });

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

onCluster('the waiting page on the local cluster, in Chromium', () => {
  let stack: Stack;
  let ns: string;
  let browser: Browser;

  const asleep = async (name: string) => `http://${await asleepBehindInterceptor(stack.kubectl, ns, name)}/`;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (scripts/install-deps.sh does), or set LULL_CHROMIUM`);
    stack = await startStack({ scope: 'waiting', kubectl: clusterKubectl() });
    ns = await stack.namespace('lull-e2e-wait');
    await stack.kubectl.apply({ ...CUSTOM_PAGE, metadata: { ...CUSTOM_PAGE.metadata, namespace: ns } });
    await applyApps(stack.kubectl, ns, Object.values(APPS));
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
    await waitFor('the waiting page', async () => (await shown(page)).startsWith('page is waking up\n') || undefined, 10_000, 20);
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

    await waitFor("the app's own content", async () => (await shown(page)).trim() === 'hello from page' || undefined, 90_000, 50);
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
    await waitFor('the waiting page', async () => (await shown(page)).startsWith('page is waking up\n') || undefined, 10_000, 20);
    await waitFor("the app's own content", async () => (await shown(page)).trim() === 'hello from page' || undefined, 90_000, 100);
  }, 240_000);

  it("serves the app's custom page from its ConfigMap, read under the interceptor's own RBAC", async () => {
    const url = await asleep('custom');
    const reply = await call(url, { accept: CHROME_ACCEPT, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' });
    expect(reply.status).toBe(503);
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.headers['retry-after']).toBe('5');
    expect(reply.body).toMatch(new RegExp(`<title>custom se réveille</title>.*<p role="status">custom \\(${ns}\\) se réveille depuis \\d+ s</p><script nonce=`, 's'));
    const events = (await stack.kubectl.json(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=custom,reason=WaitingPageUnavailable'])).items;
    expect(events).toEqual([]);
  }, 180_000);
});
