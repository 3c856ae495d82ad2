// The preStop hook that makes an app container wait for the sidecar's drain before it gets SIGTERM.
import type { V1LifecycleHandler } from '@kubernetes/client-node';
import { SIDECAR_DRAIN_TOKEN_HEADER, SIDECAR_PATHS } from '../core/sidecar-contract.ts';

/**
 * An httpGet handler needs nothing in the app's image; the kubelet calls the pod's own address. The
 * token shows the sidecar the call is the pod's own lifecycle, not a request from another pod.
 */
export function drainHook(adminPort: number, token?: string): V1LifecycleHandler {
  const headers = token ? { httpHeaders: [{ name: SIDECAR_DRAIN_TOKEN_HEADER, value: token }] } : {};
  return { httpGet: { path: SIDECAR_PATHS.drain, port: adminPort, scheme: 'HTTP', ...headers } };
}

/** Whether a preStop handler is Lull's drain (on any admin port), so it can be told from a user's own. */
export function isDrainHook(handler: V1LifecycleHandler | undefined): boolean {
  const get = handler?.httpGet;
  return get !== undefined && get.path === SIDECAR_PATHS.drain && typeof get.port === 'number' && get.host === undefined && handler?.exec === undefined;
}
