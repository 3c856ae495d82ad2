// One app's waiting page as the interceptor serves it: on or off from lull.dev/waiting-page, and a
// custom template read with one GET of the named ConfigMap in the app's own namespace (so a tenant can
// only ever show a ConfigMap it can read itself), kept a short while; a problem falls back to the
// built-in page and is reported once.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { errors, lullError } from '../core/errors.ts';
import { WAITING_PAGE_KEY, WAITING_PAGE_MAX_BYTES, type WaitingPage } from '../core/waiting-page.ts';
import { BUILTIN_TEMPLATE } from './waiting-page.ts';
import type { PageSource } from './waiting-room.ts';

/** A fetched template is used this long before it is read again (edits show within it). */
export const TEMPLATE_TTL_MS = 30_000;

export interface AppPageContext {
  getConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
  /** Since the wake began, when known. */
  elapsedMs(): number | undefined;
  /** A custom page cannot be used: once per distinct problem. */
  problem(message: string): void;
  /** When an app closed by its schedule opens again, for the page's "opens at" line; none when absent. */
  opensAt?(): string;
}

/** Pure: the template a ConfigMap holds, or why it cannot be used. */
export function templateOf(configMap: V1ConfigMap | undefined): { template: string } | { problem: string } {
  if (configMap === undefined) return { problem: 'it does not exist' };
  const text = configMap.data?.[WAITING_PAGE_KEY];
  if (text === undefined) return { problem: `it has no key ${WAITING_PAGE_KEY}` };
  const size = Buffer.byteLength(text);
  if (size > WAITING_PAGE_MAX_BYTES) return { problem: `${WAITING_PAGE_KEY} is ${size} bytes, more than the ${WAITING_PAGE_MAX_BYTES} allowed` };
  return { template: text };
}

export class AppPage implements PageSource {
  readonly app: string;
  readonly namespace: string;
  readonly #ctx: AppPageContext;
  #config: WaitingPage = { kind: 'off' };
  #cached: { name: string; at: number; template: Promise<string> } | undefined;
  #reported = '';

  constructor(namespace: string, app: string, ctx: AppPageContext) {
    this.namespace = namespace;
    this.app = app;
    this.#ctx = ctx;
  }

  get enabled(): boolean {
    return this.#config.kind !== 'off';
  }

  configure(config: WaitingPage): void {
    this.#config = config;
  }

  template(now = Date.now()): Promise<string> {
    const config = this.#config;
    if (config.kind !== 'configmap') return Promise.resolve(BUILTIN_TEMPLATE);
    const cached = this.#cached;
    if (cached !== undefined && cached.name === config.name && now - cached.at < TEMPLATE_TTL_MS) return cached.template;
    const template = this.#fetch(config.name);
    this.#cached = { name: config.name, at: now, template };
    return template;
  }

  elapsedMs(): number {
    return this.#ctx.elapsedMs() ?? 0;
  }

  opensAt(): string {
    return this.#ctx.opensAt?.() ?? '';
  }

  async #fetch(name: string): Promise<string> {
    let problem: string;
    try {
      const found = templateOf(await this.#ctx.getConfigMap(this.namespace, name));
      if ('template' in found) return found.template;
      problem = found.problem;
    } catch (err) {
      problem = `cannot read it: ${(err as Error).message}`;
    }
    const message = lullError(errors.waitingPageUnavailable, `${this.namespace}/${name}`, problem).message;
    if (message !== this.#reported) {
      this.#reported = message;
      this.#ctx.problem(message);
    }
    return BUILTIN_TEMPLATE;
  }
}
