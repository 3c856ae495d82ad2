// Whether a held request is a person's browser opening the app (shown the waiting page) rather than
// an API client, a script's fetch, a sub-resource or a WebSocket (held as ever). Pure.
import { WAIT_PATH } from '../core/waiting-page.ts';
import type { RequestHead } from './request-head.ts';

export type HeldRequest = 'navigation' | 'wait-poll' | 'other';

export function classify(head: RequestHead): HeldRequest {
  if (isWaitPoll(head)) return 'wait-poll';
  return isNavigation(head) ? 'navigation' : 'other';
}

/** The waiting page's own long poll: a GET of the reserved path, whatever its query. */
export function isWaitPoll(head: RequestHead): boolean {
  if (head.method !== 'GET') return false;
  const path = head.target.split('?', 1)[0];
  return path === WAIT_PATH;
}

export function isNavigation(head: RequestHead): boolean {
  if (head.method !== 'GET' && head.method !== 'HEAD') return false;
  const h = head.headers;
  if (h.has('upgrade') || /(^|,)\s*upgrade\s*(,|$)/i.test(h.get('connection') ?? '')) return false;
  // Fetch metadata, when the browser sends it, says what the request is for (https://w3c.github.io/webappsec-fetch-metadata/).
  const mode = h.get('sec-fetch-mode');
  if (mode !== undefined && mode.toLowerCase() !== 'navigate') return false;
  const dest = h.get('sec-fetch-dest');
  if (dest !== undefined && dest.toLowerCase() !== 'document') return false;
  if (h.has('x-requested-with')) return false; // jQuery and friends mark their XHRs so.
  return prefersHtml(h.get('accept'));
}

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

/** Pure: the Accept field's ranges with their weights; malformed members are left out (RFC 9110 §12.5.1). */
export function parseAccept(accept: string): MediaRange[] {
  const out: MediaRange[] = [];
  for (const member of accept.split(',')) {
    const [range, ...params] = member.split(';').map((s) => s.trim());
    const slash = range!.indexOf('/');
    if (slash <= 0 || slash === range!.length - 1) continue;
    let q = 1;
    let valid = true;
    for (const param of params) {
      const eq = param.indexOf('=');
      if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'q') continue;
      const value = param.slice(eq + 1).trim();
      if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value)) valid = false;
      else q = Number(value);
    }
    if (valid) out.push({ type: range!.slice(0, slash).toLowerCase(), subtype: range!.slice(slash + 1).toLowerCase(), q });
  }
  return out;
}

/**
 * Pure: the client names text/html (or text/*) and weighs it at least as high as any type it names.
 * A bare `*\/*` (curl, most libraries) is no preference for HTML.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const ranges = parseAccept(accept);
  // The most specific range that matches text/html gives its weight.
  const exact = ranges.filter((r) => r.type === 'text' && r.subtype === 'html');
  const text = ranges.filter((r) => r.type === 'text' && r.subtype === '*');
  const html = exact.length > 0 ? Math.max(...exact.map((r) => r.q)) : text.length > 0 ? Math.max(...text.map((r) => r.q)) : 0;
  if (html === 0) return false;
  for (const r of ranges) if (r.type !== '*' && !(r.type === 'text' && (r.subtype === 'html' || r.subtype === '*')) && r.q > html) return false;
  return true;
}
