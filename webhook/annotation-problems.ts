// Validation of the user annotations a request sets or changes.
import { AUTO_UPGRADE_SIDECAR, AWAKE_HOURS, ENABLED, HOLD_TIMEOUT, IDLE_AFTER, MAX_HELD, OUTSIDE_HOURS, SLEEP_REQUESTED_AT, WAITING_PAGE, WAKE_AT_START, WAKE_REPLICAS, parseAnnotations, type AnnotationProblem } from '../core/annotations.ts';
import { awakeHoursOf } from '../core/awake-hours.ts';
import { isSleepRequestValue, SLEEP_REQUEST_ALLOWED } from '../core/sleep-request.ts';
import { waitingPageProblems } from '../core/waiting-page.ts';
import { AUTOSCALE_ANNOTATIONS, parseAutoscale } from '../core/autoscale-settings.ts';

const USER_KEYS = [ENABLED, IDLE_AFTER, WAKE_REPLICAS, HOLD_TIMEOUT, MAX_HELD, AWAKE_HOURS, OUTSIDE_HOURS, WAKE_AT_START, WAITING_PAGE, AUTO_UPGRADE_SIDECAR];

/**
 * Pure. Only values that differ from the stored object are judged, so a value that predates the
 * webhook never blocks unrelated updates (the deployment controller's, for one).
 */
export function annotationProblems(annotations: Record<string, string> | undefined, old: Record<string, string> | undefined): AnnotationProblem[] {
  const changed: Record<string, string> = {};
  for (const key of USER_KEYS) {
    const value = annotations?.[key];
    if (value !== undefined && value !== old?.[key]) changed[key] = value;
  }
  const problems = [...parseAnnotations(changed).problems, ...awakeHoursOf(changed).problems, ...waitingPageProblems(changed)];
  const request = annotations?.[SLEEP_REQUESTED_AT];
  if (request !== undefined && request !== old?.[SLEEP_REQUESTED_AT] && !isSleepRequestValue(request)) problems.push({ key: SLEEP_REQUESTED_AT, value: request, allowed: SLEEP_REQUEST_ALLOWED });
  // The autoscaling keys are judged together (one target, min ≤ max) once any of them changes.
  if (AUTOSCALE_ANNOTATIONS.some((key) => annotations?.[key] !== old?.[key])) problems.push(...parseAutoscale(annotations).problems);
  return problems;
}
