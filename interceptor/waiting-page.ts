// The waiting page a browser gets at once while its app wakes, and the answers to the page's long poll.
// Pure: the built-in template, the template language ({{name}}, HTML-escaped) and the HTTP responses.
import { WAIT_PATH } from '../core/waiting-page.ts';

export interface PageValues {
  app: string;
  namespace: string;
  /** Since the wake began, at the time the page is served. */
  elapsedMs: number;
  /** When the app opens again, for an app that refuses outside its hours (filled by schedules); '' for none. */
  opensAt: string;
  /** Fresh per response: the Content-Security-Policy lets in only the inline elements that carry it. */
  nonce: string;
}

/** Without JavaScript the page reloads itself this often; with it, the long poll reloads it the moment the app answers. */
export const NO_SCRIPT_REFRESH_S = 5;
/** A poll answers after this long if the app is still waking (under the usual 30-60 s idle timeouts of proxies). */
export const POLL_TIMEOUT_MS = 20_000;
/** What a crawler or monitor is told: come back in a moment; the page itself never lands in a cache. */
export const PAGE_RETRY_AFTER_S = 5;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/**
 * The script: counts the elapsed time up, long-polls WAIT_PATH and reloads when the app is ready (or
 * when the app itself answers the poll: the traffic no longer goes through the interceptor).
 */
function script(values: PageValues): string {
  const code = `(() => {
  const start = Date.now() - ${Math.max(0, Math.floor(values.elapsedMs))};
  const elapsed = document.querySelectorAll('[data-lull-elapsed]');
  const status = document.querySelector('[data-lull-status]');
  const fmt = (ms) => { const s = Math.max(0, Math.floor(ms / 1000)); return s < 60 ? s + ' s' : Math.floor(s / 60) + ' min ' + (s % 60) + ' s'; };
  setInterval(() => { for (const e of elapsed) e.textContent = fmt(Date.now() - start); }, 1000);
  const say = (text) => { if (status && status.textContent !== text) status.textContent = text; };
  const poll = async (delay) => {
    if (delay) await new Promise((r) => setTimeout(r, delay));
    let res;
    try {
      res = await fetch(${JSON.stringify(WAIT_PATH)} + '?t=' + Date.now(), { cache: 'no-store', headers: { accept: 'application/json' } });
    } catch { return poll(1000); }
    const wait = res.headers.get('x-lull-wait');
    const refusal = res.headers.get('x-lull-refusal');
    if (wait === 'waking') return poll(0);
    if (refusal) {
      const text = (await res.text()).replace(/^[A-Z_]+: /, '').trim();
      say('Still not up: ' + text + '. Trying again.');
      return poll(1000 * Math.max(1, Number(res.headers.get('retry-after')) || 5));
    }
    say('Ready. Loading the app\\u2026');
    location.reload();
  };
  poll(0);
})();`;
  return `<script nonce="${escapeHtml(values.nonce)}">${code}</script>`;
}

function refresh(): string {
  return `<noscript><meta http-equiv="refresh" content="${NO_SCRIPT_REFRESH_S}"></noscript>`;
}

/** The page Lull serves unless the app names its own (contrast ≥ 4.5:1 in both colour schemes; no motion when reduced). */
export const BUILTIN_TEMPLATE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{app}} is waking up</title>
{{refresh}}
<style nonce="{{nonce}}">
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1f2937; --muted: #4b5563; --accent: #1d4ed8; }
@media (prefers-color-scheme: dark) { :root { --bg: #111827; --fg: #f9fafb; --muted: #d1d5db; --accent: #93c5fd; } }
html, body { margin: 0; background: var(--bg); color: var(--fg); }
body { font: 1.125rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; min-height: 100vh; display: grid; place-items: center; }
main { max-width: 32rem; padding: 2rem; text-align: center; }
h1 { font-size: 1.75rem; margin: 0 0 .5rem; }
p { margin: .5rem 0; }
.muted { color: var(--muted); }
.dot { display: inline-block; width: .75rem; height: .75rem; border-radius: 50%; background: var(--accent); margin-right: .5rem; animation: pulse 1.2s ease-in-out infinite; }
@keyframes pulse { 50% { opacity: .25; } }
@media (prefers-reduced-motion: reduce) { .dot { animation: none; } }
</style>
</head>
<body>
<main>
<h1><span class="dot" aria-hidden="true"></span>{{app}} is waking up</h1>
<p role="status" aria-live="polite" data-lull-status>It was asleep to save resources. This page loads it as soon as it answers.</p>
<p class="muted">Waiting for <span data-lull-elapsed>{{elapsed}}</span> &middot; namespace {{namespace}}</p>
{{opens_at_line}}
</main>
{{script}}
</body>
</html>
`;

/** Pure: the template with each {{name}} replaced; unknown names are left as they are, so a typo shows. */
export function renderPage(template: string, values: PageValues): string {
  const text: Record<string, string> = {
    app: escapeHtml(values.app),
    namespace: escapeHtml(values.namespace),
    elapsed: escapeHtml(formatElapsed(values.elapsedMs)),
    opens_at: escapeHtml(values.opensAt),
    nonce: escapeHtml(values.nonce),
    script: script(values),
    refresh: refresh(),
    // The built-in page's optional line; custom templates write their own around {{opens_at}}.
    opens_at_line: values.opensAt === '' ? '' : `<p>It opens at ${escapeHtml(values.opensAt)}.</p>`,
  };
  // One pass: a value that itself contains "{{...}}" is never expanded again.
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (whole, name: string) => text[name] ?? whole);
}

/** Pure: inline elements with the nonce only; the poll goes to the same origin; nothing loads from elsewhere. */
export function pagePolicy(nonce: string): string {
  return `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

/** Pure: the whole response to a navigation; `503` + Retry-After so crawlers and monitors neither index nor cache it. */
export function pageResponse(html: string, nonce: string, version: '1.0' | '1.1', head: boolean): Buffer {
  const body = Buffer.from(html);
  const lines = [
    `HTTP/${version} 503 Service Unavailable`,
    'Content-Type: text/html; charset=utf-8',
    `Content-Length: ${body.length}`,
    `Retry-After: ${PAGE_RETRY_AFTER_S}`,
    'Cache-Control: no-store',
    `Content-Security-Policy: ${pagePolicy(nonce)}`,
    'X-Content-Type-Options: nosniff',
    'Referrer-Policy: no-referrer',
    'X-Lull-Waiting-Page: 1',
    'Connection: close',
  ];
  const headBytes = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);
  return head ? headBytes : Buffer.concat([headBytes, body]);
}

/** Pure: the long poll's answer; `ready` when the app can take the reload, `waking` when the poll timed out first. */
export function pollResponse(state: 'ready' | 'waking', elapsedMs: number, version: '1.0' | '1.1'): Buffer {
  const body = JSON.stringify({ state, elapsedMs: Math.max(0, Math.floor(elapsedMs)) });
  const lines = [
    `HTTP/${version} 200 OK`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    `X-Lull-Wait: ${state}`,
    'Connection: close',
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`);
}
