// The one catalog of errors a user can meet: webhook refusals, Event reasons and the CLI reuse it.
import { format } from 'node:util';

export interface ErrorDef {
  /** Stable code, also used as the Event reason. */
  readonly code: string;
  /** util.format template. */
  readonly message: string;
  /** HTTP status for refusals and interceptor answers. */
  readonly status: number;
}

export class LullError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(def: ErrorDef, args: readonly unknown[], options?: ErrorOptions) {
    super(format(def.message, ...args), options);
    this.name = 'LullError';
    this.code = def.code;
    this.status = def.status;
  }
}

function define(code: string, message: string, status = 500): ErrorDef {
  return Object.freeze({ code, message, status });
}

export const errors = {
  invalidAnnotation: define('LULL_INVALID_ANNOTATION', 'annotation %s has value %j: %s', 422),
  lullOwnedAnnotation: define('LULL_OWNED_ANNOTATION', 'annotation %s is written by Lull only; remove it from your change', 403),
  invalidConfig: define('LULL_INVALID_CONFIG', 'setting %s has value %j: %s', 400),
  appNotReady: define('LULL_APP_NOT_READY', 'the app is not accepting connections on port %d', 502),
  clusterPrerequisite: define('LULL_CLUSTER_PREREQUISITE', 'the local cluster needs %s: %s', 1),
  clusterNotRunning: define('LULL_CLUSTER_NOT_RUNNING', 'the local cluster is not running (no %s); start it with `npm run cluster -- up`', 1),
} as const;

export function lullError(def: ErrorDef, ...args: unknown[]): LullError {
  return new LullError(def, args);
}
