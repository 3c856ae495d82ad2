// The answer to a connection that cannot be served: HTTP/1.x clients get `503` with `Retry-After` and
// a one-line reason, anything else is closed. Never a hang, never a silent drop.
import type { Socket } from 'node:net';
import type { LullError } from '../core/errors.ts';
import { sniff } from '../core/sniff.ts';

export interface Refusal {
  code: string;
  /** One line, for the client and the log. */
  message: string;
  status: number;
  retryAfterS: number;
}

/** Retry-After by cause: a full hold queue clears fast, an app that cannot start does not. */
const RETRY_AFTER_S: Record<string, number> = {
  LULL_MAX_HELD: 1,
  LULL_NAMESPACE_FULL: 1,
  LULL_INTERCEPTOR_FULL: 1,
  LULL_INTERCEPTOR_STOPPING: 1,
  LULL_HOLD_TIMEOUT: 5,
  LULL_WAKE_FAILED: 30,
};

export function refusalOf(err: LullError): Refusal {
  return { code: err.code, message: err.message, status: err.status, retryAfterS: RETRY_AFTER_S[err.code] ?? 5 };
}

/** Pure: the whole HTTP response, in the client's own HTTP version. */
export function refusalResponse(refusal: Refusal, version: '1.0' | '1.1' = '1.1'): Buffer {
  const body = `${refusal.code}: ${refusal.message.replace(/[\r\n]+/g, ' ')}\n`;
  const head = [
    `HTTP/${version} ${refusal.status} ${refusal.status === 503 ? 'Service Unavailable' : 'Error'}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `Retry-After: ${refusal.retryAfterS}`,
    'Cache-Control: no-store',
    `X-Lull-Refusal: ${refusal.code}`,
    'Connection: close',
  ];
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`);
}

/** Pure: the HTTP version of the request line at the start of `buf` (which sniff() called HTTP/1.x). */
export function requestVersion(buf: Buffer): '1.0' | '1.1' {
  const eol = buf.indexOf(0x0d);
  return eol >= 3 && buf[eol - 1] === 0x30 ? '1.0' : '1.1';
}

export interface RefuseTiming {
  /** How long a silent client is given to show it speaks HTTP (it usually has already). */
  firstBytesMs: number;
  /** How long the close lingers, reading and discarding, so the client reads the answer instead of a reset. */
  lingerMs: number;
}

export const REFUSE_TIMING: RefuseTiming = { firstBytesMs: 1000, lingerMs: 2000 };

/**
 * Reads just enough of a paused client to tell HTTP/1.x from anything else, answers, and closes.
 * Resolves when the socket is gone.
 */
export function refuse(socket: Socket, refusal: Refusal, timing: RefuseTiming = REFUSE_TIMING): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    let seen: Buffer | null = null;
    let decided = false;
    const finish = () => {
      clearTimeout(timer);
      resolve();
    };
    const close = () => {
      decided = true;
      socket.end();
      clearTimeout(timer);
      // Discard what the client still sends while our FIN (and answer) reach it.
      timer = setTimeout(() => socket.destroy(), timing.lingerMs);
      timer.unref();
    };
    const onData = (chunk: Buffer) => {
      if (decided) return;
      seen = seen === null ? chunk : Buffer.concat([seen, chunk]);
      const verdict = sniff(seen);
      if (verdict === 'more') return;
      if (verdict === 'http1') socket.write(refusalResponse(refusal, requestVersion(seen)));
      seen = null;
      close();
    };
    let timer = setTimeout(close, timing.firstBytesMs);
    timer.unref();
    socket.on('data', onData);
    socket.on('end', () => {
      if (!decided) close();
      else socket.destroy();
    });
    socket.on('error', () => socket.destroy());
    socket.once('close', finish);
    socket.resume();
  });
}
