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
  invalidSchedule: define('LULL_INVALID_SCHEDULE', 'annotation %s has value %j: at %j, %s; allowed: %s', 422),
  lullOwnedAnnotation: define('LULL_OWNED_ANNOTATION', 'annotation %s is written by Lull only; remove it from your change', 403),
  webhookInternal: define('LULL_WEBHOOK_INTERNAL', 'Lull could not check your change of %s (an internal error, logged by its webhook); try again, or leave these annotations as they are', 500),
  malformedAdmissionReview: define('LULL_MALFORMED_ADMISSION_REVIEW', 'not an admission.k8s.io/v1 AdmissionReview request: %s', 400),
  webhookCertificate: define('LULL_WEBHOOK_CERTIFICATE', 'cannot keep the webhook certificate in Secret %s: %s', 500),
  webhookDrainKey: define('LULL_WEBHOOK_DRAIN_KEY', 'cannot keep the drain key in Secret %s: %s', 500),
  webhookCaBundle: define('LULL_WEBHOOK_CA_BUNDLE', 'cannot write the caBundle into %s %s: %s', 500),
  kubeRequest: define('LULL_KUBE_REQUEST', '%s %s answered %d: %s', 502),
  invalidConfig: define('LULL_INVALID_CONFIG', 'setting %s has value %j: %s', 400),
  appNotReady: define('LULL_APP_NOT_READY', 'the app is not accepting connections on port %d', 502),
  appClosedEarly: define('LULL_APP_CLOSED', 'the app on port %d closed the connection before answering', 502),
  malformedRequest: define('LULL_MALFORMED_REQUEST', 'the request is not valid HTTP/1.1: %s', 400),
  headTooLarge: define('LULL_HEAD_TOO_LARGE', 'the request head is larger than %d bytes', 431),
  // The sidecar's admin port.
  adminParameter: define('LULL_ADMIN_PARAMETER', 'query parameter %s has value %j: %s', 400),
  drainForbidden: define('LULL_DRAIN_FORBIDDEN', "a drain is started only by the pod's own preStop hook: %s", 403),
  adminBusy: define('LULL_ADMIN_BUSY', 'the admin port already holds %d long polls, its limit; retry shortly', 503),
  // The sidecar's refusals (a one-line `CODE: reason` body, then the connection is closed).
  headTimeout: define('LULL_HEAD_TIMEOUT', 'the request head did not arrive within %d ms (LULL_HEAD_TIMEOUT)', 408),
  sidecarFull: define('LULL_SIDECAR_FULL', 'the sidecar already has %d client connections open, its limit (LULL_MAX_CONNECTIONS)', 503),
  appMalformedResponse: define('LULL_APP_MALFORMED_RESPONSE', 'the app on port %d sent a response that is not valid HTTP/1.1: %s', 502),
  // The interceptor's answers to held connections (503 with Retry-After for HTTP/1.x, a close otherwise).
  holdTimeout: define('LULL_HOLD_TIMEOUT', '%s did not become ready within %s (lull.dev/hold-timeout)', 503),
  tooManyHeld: define('LULL_MAX_HELD', '%s already has %d connections held while it wakes (lull.dev/max-held)', 503),
  namespaceFull: define('LULL_NAMESPACE_FULL', 'namespace %s already has %d connections held on this interceptor, its share (--max-held-per-namespace)', 503),
  interceptorFull: define('LULL_INTERCEPTOR_FULL', 'this interceptor already holds %d connections, its limit (--max-held-total)', 503),
  wakeFailed: define('LULL_WAKE_FAILED', '%s cannot come up: %s', 503),
  interceptorStopping: define('LULL_INTERCEPTOR_STOPPING', 'the interceptor is shutting down before %s became ready', 503),
  outsideHours: define('LULL_OUTSIDE_HOURS', '%s is asleep outside its awake-hours (%s) and refuses requests until it opens at %s (lull.dev/outside-hours: refuse)', 503),
  waitingPageUnavailable: define('LULL_WAITING_PAGE_UNAVAILABLE', 'the waiting page in ConfigMap %s cannot be used: %s; browsers get the built-in page', 424),
  // Settings that are admitted but cannot work: admission warnings, `lull status` reasons, the reconciler's sleep blockers.
  unknownAnnotation: define('LULL_UNKNOWN_ANNOTATION', '%s is not a Lull annotation and is ignored; %s', 422),
  noService: define('LULL_NO_SERVICE', 'no Service selects it, so no request could wake it', 409),
  headlessService: define('LULL_HEADLESS_SERVICE', 'Service %s is headless: its clients would bypass the interceptor that wakes it', 409),
  sharedService: define('LULL_SHARED_SERVICE', 'Service %s also selects other Deployments (%s), which still need its traffic', 409),
  scheduleWithoutHours: define('LULL_SCHEDULE_WITHOUT_HOURS', '%s has no effect without lull.dev/awake-hours', 422),
  sidecarOutdated: define('LULL_SIDECAR_OUTDATED', 'its sidecar is Lull %s, the installed Lull injects %s: %s', 409),
  idleAfterBelowReadiness: define('LULL_IDLE_AFTER_BELOW_READINESS', 'idle-after %s is shorter than the %s its readiness probe may take to pass', 409),
  leaseUnavailable: define('LULL_LEASE_UNAVAILABLE', 'cannot take the leader Lease %s/%s: %s; %s', 503),
  // The reconciler's (Event messages and logs).
  interceptorPortsExhausted: define('LULL_INTERCEPTOR_PORTS_EXHAUSTED', 'no interceptor port is free for Service %s: all of %d-%d are allocated', 507),
  hpaPresent: define('LULL_HPA_PRESENT', 'HorizontalPodAutoscaler %s scales this Deployment: Lull leaves 1 to N to it and only sleeps and wakes the app', 409),
  autoscaleMetricsMissing: define('LULL_AUTOSCALE_METRICS_MISSING', 'no pod of %s reported its load (%s); replicas are left as they are', 503),
  sleepAborted: define('LULL_SLEEP_ABORTED', '%s was not put to sleep: %s', 409),
  // The CLI's (`lull status|wake|sleep|demo`); status is the exit code.
  // Prerequisites of the CLI and the benchmarks: each says the command that fixes it.
  noCluster: define('LULL_NO_CLUSTER', 'no cluster at %s: %s; start one with `npm run cluster -- up`', 1),
  namespaceMissing: define('LULL_NAMESPACE_MISSING', 'namespace %s does not exist; %s', 1),
  lullNotInstalled: define('LULL_NOT_INSTALLED', 'Lull is not installed on this cluster (%s); install it with `kubectl apply -k deploy/`', 1),
  cliUsage: define('LULL_USAGE', '%s', 2),
  kubeconfig: define('LULL_KUBECONFIG', 'cannot use the kubeconfig: %s', 1),
  appNotFound: define('LULL_APP_NOT_FOUND', 'deployment %s not found in namespace %s', 1),
  appNotOptedIn: define('LULL_APP_NOT_OPTED_IN', 'deployment %s in namespace %s is not managed by Lull (%s); opt it in with: kubectl annotate -n %s deploy/%s lull.dev/enabled=true', 1),
  appNotOnboarded: define('LULL_APP_NOT_ONBOARDED', 'deployment %s in namespace %s is opted in but not onboarded yet (%s); is Lull installed? kubectl get pods -n lull-system', 1),
  cliTimeout: define('LULL_TIMEOUT', '%s did not %s within %s: %s', 1),
  demoStep: define('LULL_DEMO_STEP', 'the demo stopped while it %s: %s', 1),
} as const;

export function lullError(def: ErrorDef, ...args: unknown[]): LullError {
  return new LullError(def, args);
}
