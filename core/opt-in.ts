// Who is Lull's (docs/design.md "The contract"): the one rule, from a Deployment's annotation and its namespace's labels.
import { ENABLED, EXCLUDED_NAMESPACES, INJECT_LABEL, INJECT_LABEL_VALUE } from './annotations.ts';

/** in: Lull manages it; out: Lull must leave nothing behind; unknown: not decidable yet, change nothing. */
export type Membership = 'in' | 'out' | 'unknown';

export function isExcludedNamespace(namespace: string | undefined, ownNamespace: string): boolean {
  return namespace === undefined || namespace === ownNamespace || EXCLUDED_NAMESPACES.includes(namespace);
}

/**
 * `namespaceLabels` undefined means the namespace is not known (yet): then only an explicit annotation
 * decides, because a wrong guess would strip an app that is opted in. Excluded namespaces are out.
 */
export function membership(
  namespace: string | undefined,
  annotations: Record<string, string> | undefined,
  namespaceLabels: Record<string, string> | undefined,
  ownNamespace: string,
): Membership {
  if (isExcludedNamespace(namespace, ownNamespace)) return 'out';
  const enabled = annotations?.[ENABLED];
  if (enabled === 'true') return 'in';
  if (enabled === 'false') return 'out';
  // A bad value is refused by validation; one stored before that changes nothing.
  if (enabled !== undefined) return 'unknown';
  if (namespaceLabels === undefined) return 'unknown';
  return namespaceLabels[INJECT_LABEL] === INJECT_LABEL_VALUE ? 'in' : 'out';
}
