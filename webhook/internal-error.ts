// What an admission answers when its handler throws (a bug): Lull's own fields fail closed, the rest open.
import { PREFIX } from '../core/annotations.ts';
import { errors, lullError } from '../core/errors.ts';
import type { AdmissionContext } from './admission-context.ts';
import { allow, deny, type AdmissionRequest, type AdmissionResponse } from './admission-review.ts';
import { isLull } from './ownership.ts';

type Annotated = { metadata?: { annotations?: Record<string, unknown> } } | null | undefined;

/** Pure: lull.dev/ annotation keys the request adds or changes (what validation exists to check). */
export function lullKeysChanged(request: AdmissionRequest): string[] {
  const now = (request.object as Annotated)?.metadata?.annotations ?? {};
  const before = (request.oldObject as Annotated)?.metadata?.annotations ?? {};
  return Object.keys(now).filter((key) => key.startsWith(PREFIX) && now[key] !== before[key]);
}

function fromLull(request: AdmissionRequest, context: Pick<AdmissionContext, 'ownNamespace' | 'trustedUsers'>): boolean {
  try {
    return isLull(request.userInfo?.username, context.ownNamespace, context.trustedUsers);
  } catch {
    return isLull(request.userInfo?.username, context.ownNamespace);
  }
}

/**
 * A user's change of lull.dev/ annotations that could not be checked is refused (LULL_WEBHOOK_INTERNAL):
 * letting it through would let a bug waive the checks. Anything else is allowed unchanged, as
 * failurePolicy Ignore would: injection and routing are healed by the reconciler's next touch, and
 * Lull's own writes must go on. Never throws.
 */
export function answerInternalError(request: AdmissionRequest, context: Pick<AdmissionContext, 'ownNamespace' | 'trustedUsers'>): AdmissionResponse {
  let keys: string[];
  try {
    keys = lullKeysChanged(request);
  } catch {
    keys = ['(unreadable annotations)'];
  }
  if (keys.length === 0 || fromLull(request, context)) return allow(request.uid);
  return deny(request.uid, [lullError(errors.webhookInternal, keys.join(', '))]);
}
