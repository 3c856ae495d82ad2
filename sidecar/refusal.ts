// The sidecar's own answers (400, 408, 431, 502, 503): a one-line `CODE: reason` body, then close,
// the same shape as the interceptor's refusals.
import type { LullError } from '../core/errors.ts';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** Pure: the whole response, latin1-safe, ending the connection. */
export function refusalResponse(err: LullError): string {
  // ASCII only: the reason may quote bytes of a bad head.
  const body = `${err.code}: ${err.message.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?')}\n`;
  const retry = err.status === 503 ? 'Retry-After: 1\r\n' : '';
  return (
    `HTTP/1.1 ${err.status} ${REASONS[err.status] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${body.length}\r\n${retry}X-Lull-Refusal: ${err.code}\r\nConnection: close\r\n\r\n${body}`
  );
}
