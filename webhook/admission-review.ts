// admission.k8s.io/v1 AdmissionReview: the shapes Lull reads and the answers it gives.
import type { Operation } from 'fast-json-patch';
import { errors, lullError, type LullError } from '../core/errors.ts';

export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT' | string;
  userInfo?: { username?: string; uid?: string; groups?: string[] };
  object?: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
  dryRun?: boolean;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  /** base64 of the JSON patch. */
  patch?: string;
  status?: { code: number; message: string; reason: string };
  warnings?: string[];
}

export interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

/** The request of a v1 AdmissionReview, or a LullError saying why it is not one. */
export function readReview(body: unknown): AdmissionRequest | LullError {
  if (typeof body !== 'object' || body === null) return lullError(errors.malformedAdmissionReview, 'the body is not a JSON object');
  const review = body as Partial<AdmissionReview>;
  if (review.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview') {
    return lullError(errors.malformedAdmissionReview, `apiVersion ${JSON.stringify(review.apiVersion)}, kind ${JSON.stringify(review.kind)}`);
  }
  const request = review.request;
  if (typeof request !== 'object' || request === null || typeof request.uid !== 'string' || typeof request.kind !== 'object' || request.kind === null) {
    return lullError(errors.malformedAdmissionReview, 'request.uid or request.kind is missing');
  }
  return request;
}

export function reviewOf(response: AdmissionResponse): AdmissionReview {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

/** Allowed, with a patch when there is one, and warnings kubectl prints. */
export function allow(uid: string, patch: readonly Operation[] = [], warnings: readonly string[] = []): AdmissionResponse {
  const response: AdmissionResponse = { uid, allowed: true };
  if (patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
  }
  if (warnings.length > 0) response.warnings = [...warnings];
  return response;
}

const REASONS: Record<number, string> = { 400: 'BadRequest', 403: 'Forbidden', 409: 'Conflict', 422: 'Invalid', 500: 'InternalError' };

/** A refusal; several errors are one message, as kubectl shows a single line. */
export function deny(uid: string, refusals: readonly LullError[]): AdmissionResponse {
  const first = refusals[0];
  const code = first?.status ?? 403;
  return {
    uid,
    allowed: false,
    status: { code, reason: REASONS[code] ?? 'Forbidden', message: refusals.map((e) => e.message).join('; ') },
  };
}
