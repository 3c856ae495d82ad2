// The waiting page's contract (docs/design.md "Waiting page"): the annotation's values, the ConfigMap a
// custom page comes from, the path the page polls, and the template's placeholders. Pure.
import { WAITING_PAGE, type AnnotationProblem } from './annotations.ts';

export type WaitingPage = { kind: 'off' } | { kind: 'builtin' } | { kind: 'configmap'; name: string };

export const WAITING_PAGE_OFF: WaitingPage = { kind: 'off' };

/** The key of a custom page's ConfigMap that holds the template. */
export const WAITING_PAGE_KEY = 'page.html';
/** A custom template larger than this is not used (the built-in page is served instead): it is sent on every navigation. */
export const WAITING_PAGE_MAX_BYTES = 64 * 1024;
/**
 * Same origin as the app, answered by the interceptor itself: a long poll that returns when the app the
 * port routes to is ready. Only reachable while the app's traffic goes through the interceptor.
 */
export const WAIT_PATH = '/.lull/wait';

/** The placeholders a template may use; each is replaced by HTML-escaped text except the elements `script`, `refresh` and `opens_at_line`. */
export const TEMPLATE_PLACEHOLDERS = ['app', 'namespace', 'elapsed', 'opens_at', 'opens_at_line', 'nonce', 'script', 'refresh'] as const;

const CONFIGMAP_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const ALLOWED = '"true", "false" or "configmap/NAME" (a ConfigMap in the same namespace whose key page.html is the template)';

/** Pure: the annotation's value, or undefined when it is not one of the allowed forms. */
export function parseWaitingPage(value: string | undefined): WaitingPage | undefined {
  if (value === undefined || value === 'false') return WAITING_PAGE_OFF;
  if (value === 'true') return { kind: 'builtin' };
  const name = value.startsWith('configmap/') ? value.slice('configmap/'.length) : undefined;
  if (name !== undefined && CONFIGMAP_NAME.test(name)) return { kind: 'configmap', name };
  return undefined;
}

/** Pure: what the webhook says of a bad value; none when absent or well-formed. */
export function waitingPageProblems(annotations: Record<string, string> | undefined): AnnotationProblem[] {
  const value = annotations?.[WAITING_PAGE];
  if (value === undefined || parseWaitingPage(value) !== undefined) return [];
  return [{ key: WAITING_PAGE, value, allowed: ALLOWED }];
}

/** The Deployment's waiting page; a bad value (admitted before the webhook ran) means none. */
export function waitingPageOf(annotations: Record<string, string> | undefined): WaitingPage {
  return parseWaitingPage(annotations?.[WAITING_PAGE]) ?? WAITING_PAGE_OFF;
}
