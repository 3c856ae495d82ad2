// The waiting page itself: the template language and its escaping, the built-in page's accessibility
// basics, the HTTP answers (status, caching, CSP), the custom page's ConfigMap, and the annotation.
import { describe, expect, it } from 'vitest';
import { parseWaitingPage, waitingPageProblems } from '../../../core/waiting-page.ts';
import { annotationProblems } from '../../../webhook/annotation-problems.ts';
import { AppPage, templateOf } from '../../../interceptor/app-page.ts';
import { BUILTIN_TEMPLATE, escapeHtml, formatElapsed, pageResponse, pollResponse, renderPage, type PageValues } from '../../../interceptor/waiting-page.ts';

const values: PageValues = { app: 'web', namespace: 'shop', elapsedMs: 12_400, opensAt: '', nonce: 'n0nce' };

describe('the annotation', () => {
  it('takes true, false and configmap/NAME', () => {
    expect(parseWaitingPage('true')).toEqual({ kind: 'builtin' });
    expect(parseWaitingPage('false')).toEqual({ kind: 'off' });
    expect(parseWaitingPage(undefined)).toEqual({ kind: 'off' });
    expect(parseWaitingPage('configmap/my-page.v2')).toEqual({ kind: 'configmap', name: 'my-page.v2' });
  });

  it('is refused by the webhook otherwise, naming the key, the value and what is allowed', () => {
    for (const bad of ['yes', 'True', 'configmap/', 'configmap/Bad_Name', 'cm/page', 'configmap/other-ns/page']) expect(parseWaitingPage(bad)).toBeUndefined();
    expect(waitingPageProblems({ 'lull.dev/waiting-page': 'yes' })).toEqual([
      { key: 'lull.dev/waiting-page', value: 'yes', allowed: '"true", "false" or "configmap/NAME" (a ConfigMap in the same namespace whose key page.html is the template)' },
    ]);
    expect(annotationProblems({ 'lull.dev/waiting-page': 'configmap/Bad' }, undefined).map((p) => p.key)).toEqual(['lull.dev/waiting-page']);
    expect(annotationProblems({ 'lull.dev/waiting-page': 'configmap/page' }, undefined)).toEqual([]);
  });
});

describe('renderPage', () => {
  it('escapes every value it puts in, so an app name cannot inject markup', () => {
    const html = renderPage('<h1>{{app}}</h1><p>{{namespace}}</p><i>{{opens_at}}</i>', { ...values, app: '<img src=x onerror=alert(1)>', namespace: 'a"b', opensAt: "Mon 08:00 & 'later'" });
    expect(html).toBe('<h1>&lt;img src=x onerror=alert(1)&gt;</h1><p>a&quot;b</p><i>Mon 08:00 &amp; &#39;later&#39;</i>');
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });

  it('expands once (a value holding {{script}} stays text) and leaves unknown names visible', () => {
    expect(renderPage('{{app}} {{ namespace }} {{nope}}', { ...values, app: '{{script}}' })).toBe('{{script}} shop {{nope}}');
  });

  it('gives the script and the no-script refresh, the script carrying the nonce', () => {
    const html = renderPage('{{refresh}}{{script}}', values);
    expect(html).toMatch(/^<noscript><meta http-equiv="refresh" content="5"><\/noscript><script nonce="n0nce">/);
    expect(html).toContain('/.lull/wait');
    expect(html).toContain('location.reload()');
    expect(html).toContain('Date.now() - 12400');
  });

  it('formats the elapsed time for people', () => {
    expect(renderPage('{{elapsed}}', values)).toBe('12 s');
    expect(formatElapsed(125_000)).toBe('2 min 5 s');
    expect(formatElapsed(-5)).toBe('0 s');
  });

  it('shows when the app opens only when it is closed', () => {
    expect(renderPage(BUILTIN_TEMPLATE, values)).not.toContain('It opens at');
    expect(renderPage(BUILTIN_TEMPLATE, { ...values, opensAt: 'Mon 08:00 Europe/Paris' })).toContain('<p>It opens at Mon 08:00 Europe/Paris.</p>');
  });

  it('the built-in page has a language, a title, a live status, and no motion when reduced', () => {
    const html = renderPage(BUILTIN_TEMPLATE, values);
    expect(html).toMatch(/<html lang="en">/);
    expect(html).toContain('<title>web is waking up</title>');
    expect(html).toMatch(/role="status" aria-live="polite"/);
    expect(html).toMatch(/@media \(prefers-reduced-motion: reduce\) \{ \.dot \{ animation: none; \} \}/);
    expect(html).toContain('<style nonce="n0nce">');
    expect(html).not.toMatch(/\{\{/);
    // No external asset of any kind.
    expect(html).not.toMatch(/\b(src|href)=/);
  });
});

describe('the answers', () => {
  it('serves the page as an uncacheable 503 with Retry-After, inline-only CSP and a closing connection', () => {
    const response = pageResponse('<p>x</p>', 'abc', '1.1', false).toString();
    const [head, body] = response.split('\r\n\r\n');
    expect(head!.split('\r\n')).toEqual([
      'HTTP/1.1 503 Service Unavailable',
      'Content-Type: text/html; charset=utf-8',
      'Content-Length: 8',
      'Retry-After: 5',
      'Cache-Control: no-store',
      "Content-Security-Policy: default-src 'none'; style-src 'nonce-abc'; script-src 'nonce-abc'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      'X-Content-Type-Options: nosniff',
      'Referrer-Policy: no-referrer',
      'X-Lull-Waiting-Page: 1',
      'Connection: close',
    ]);
    expect(body).toBe('<p>x</p>');
  });

  it('answers HEAD with the head alone, in the client\'s HTTP version', () => {
    const response = pageResponse('<p>x</p>', 'abc', '1.0', true).toString();
    expect(response.startsWith('HTTP/1.0 503 ')).toBe(true);
    expect(response.endsWith('Connection: close\r\n\r\n')).toBe(true);
  });

  it('answers the poll with the state, uncached', () => {
    const response = pollResponse('ready', 1500.7, '1.1').toString();
    expect(response).toContain('X-Lull-Wait: ready\r\n');
    expect(response).toContain('Cache-Control: no-store\r\n');
    expect(response.endsWith('\r\n\r\n{"state":"ready","elapsedMs":1500}')).toBe(true);
  });
});

describe('a custom page from a ConfigMap', () => {
  it('uses page.html, within the size limit', () => {
    expect(templateOf({ data: { 'page.html': '<p>{{app}}</p>' } })).toEqual({ template: '<p>{{app}}</p>' });
    expect(templateOf(undefined)).toEqual({ problem: 'it does not exist' });
    expect(templateOf({ data: { 'index.html': 'x' } })).toEqual({ problem: 'it has no key page.html' });
    expect(templateOf({ data: { 'page.html': 'é'.repeat(40_000) } })).toEqual({ problem: 'page.html is 80000 bytes, more than the 65536 allowed' });
  });

  it('reads it once per TTL from the app\'s own namespace, falls back to the built-in page and reports a problem once', async () => {
    const gets: string[] = [];
    const problems: string[] = [];
    let stored: Record<string, string> | undefined = undefined;
    const page = new AppPage('shop', 'web', {
      getConfigMap: async (ns, name) => (gets.push(`${ns}/${name}`), stored === undefined ? undefined : { data: stored }),
      elapsedMs: () => undefined,
      problem: (m) => problems.push(m),
    });
    expect(page.enabled).toBe(false);
    page.configure({ kind: 'configmap', name: 'waiting' });
    expect(page.enabled).toBe(true);
    expect(await page.template(0)).toBe(BUILTIN_TEMPLATE);
    expect(await page.template(1000)).toBe(BUILTIN_TEMPLATE);
    expect(gets).toEqual(['shop/waiting']);
    expect(problems).toEqual(['the waiting page in ConfigMap shop/waiting cannot be used: it does not exist; browsers get the built-in page']);
    stored = { 'page.html': 'mine' };
    expect(await page.template(31_000)).toBe('mine');
    expect(gets).toEqual(['shop/waiting', 'shop/waiting']);
    expect(problems).toHaveLength(1);
    page.configure({ kind: 'builtin' });
    expect(await page.template(31_001)).toBe(BUILTIN_TEMPLATE);
    expect(page.elapsedMs()).toBe(0);
  });
});
