// The local cluster's errors (`lull cluster`, the e2e global setup): the same shape as core/errors.ts,
// kept here because the cluster is a development tool the product image does not carry.
import type { ErrorDef } from '../../core/errors.ts';

const define = (code: string, message: string, status = 1): ErrorDef => Object.freeze({ code, message, status });

export const clusterErrors = {
  clusterPrerequisite: define('LULL_CLUSTER_PREREQUISITE', 'the local cluster needs %s: %s', 1),
  clusterRouteConflict: define('LULL_CLUSTER_ROUTE_CONFLICT', 'the local cluster ranges %s overlap routes already on this host (%s); remove those or change test/cluster/layout.ts', 1),
  clusterComponentFailed: define('LULL_CLUSTER_COMPONENT_FAILED', '%s did not become ready: %s; its log: %s', 1),
  clusterLogNotFound: define('LULL_CLUSTER_LOG_NOT_FOUND', 'no log for %s: %s', 1),
  clusterBusy: define('LULL_CLUSTER_BUSY', 'another `lull cluster` command (pid %d) is working on %s; wait for it to finish', 1),
  clusterInUse: define('LULL_CLUSTER_IN_USE', 'the cluster network (bridge %s) is in use by the cluster in %s; stop that one first: LULL_CLUSTER_DIR=%s npm run cluster -- down', 1),
  clusterPortInUse: define('LULL_CLUSTER_PORT_IN_USE', 'ports the cluster needs are in use by other processes (%s); `ss -ltnp` shows which', 1),
} as const;
