// The webhook's action for one Deployment: core's membership rule (core/opt-in.ts), as a patch to build.
import { isExcludedNamespace, membership } from '../core/opt-in.ts';

export { isExcludedNamespace };

/** inject: make it Lull's; strip: remove what Lull added; leave: change nothing. */
export type OptIn = 'inject' | 'strip' | 'leave';

const ACTION = { in: 'inject', out: 'strip', unknown: 'leave' } as const;

export function optIn(
  namespace: string | undefined,
  annotations: Record<string, string> | undefined,
  namespaceLabels: Record<string, string> | undefined,
  ownNamespace: string,
): OptIn {
  // Excluded namespaces are "out" for everyone, but the webhook does not even strip there: it never touches them.
  if (isExcludedNamespace(namespace, ownNamespace)) return 'leave';
  return ACTION[membership(namespace, annotations, namespaceLabels, ownNamespace)];
}
