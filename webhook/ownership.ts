// Lull-owned annotations: who may write them, and which ones a request sets or changes.
import { ADDED_PULL_SECRETS, INJECTED, LULL_OWNED, ORIGINAL_GRACE_PERIOD, ORIGINAL_TARGET_PORTS } from '../core/annotations.ts';

/** Written by the mutating webhook itself, so only the incoming object (before mutation) shows a user's edit. */
export const WEBHOOK_WRITTEN: readonly string[] = [INJECTED, ORIGINAL_GRACE_PERIOD, ORIGINAL_TARGET_PORTS, ADDED_PULL_SECRETS];
/** Written by the reconciler and interceptor through the API: any change the validator sees is someone's request. */
export const API_WRITTEN: readonly string[] = LULL_OWNED.filter((key) => !WEBHOOK_WRITTEN.includes(key));

/** Lull's own service accounts are those of its namespace; `trusted` adds identities (parts run outside the cluster). */
export function isLull(username: string | undefined, ownNamespace: string, trusted: readonly string[] = []): boolean {
  return username !== undefined && (username.startsWith(`system:serviceaccount:${ownNamespace}:`) || trusted.includes(username));
}

type Annotated = { metadata?: { annotations?: Record<string, string> } } | null | undefined;

/**
 * Keys of `keys` that `object` adds or changes compared with `old`. Removing one is not an edit: a
 * full replace from a manifest drops them, and Lull writes them again where they still apply.
 */
export function ownedEdits(object: Annotated, old: Annotated, keys: readonly string[]): string[] {
  const now = object?.metadata?.annotations ?? {};
  const before = old?.metadata?.annotations ?? {};
  return keys.filter((key) => now[key] !== undefined && now[key] !== before[key]);
}
