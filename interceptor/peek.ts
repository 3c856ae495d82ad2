// Reads the request head of a held connection without taking it: the bytes are put back (unshift) and
// the socket paused again, so forwarding or refusing it later sees exactly what the client sent.
import type { Socket } from 'node:net';
import { sniff } from '../core/sniff.ts';
import { parseRequestHead, type RequestHead } from './request-head.ts';

export interface Peek {
  /** Stops reading and gives the bytes back; idempotent. */
  release(): void;
}

/** A head that has not arrived by then is no browser's navigation: the connection is simply held. */
export const PEEK_TIMEOUT_MS = 5000;

/** `onHead` is called once, after the bytes are back: with the head, or undefined for anything else. */
export function peekHead(socket: Socket, onHead: (head: RequestHead | undefined) => void, timeoutMs = PEEK_TIMEOUT_MS): Peek {
  let seen: Buffer | null = null;
  let done = false;
  const release = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.pause();
    if (seen !== null && !socket.destroyed) socket.unshift(seen);
    seen = null;
  };
  const decide = (head: RequestHead | undefined) => {
    release();
    onHead(head);
  };
  const onData = (chunk: Buffer) => {
    seen = seen === null ? chunk : Buffer.concat([seen, chunk]);
    const protocol = sniff(seen);
    if (protocol === 'other' || protocol === 'malformed') return decide(undefined);
    if (protocol === 'more') return;
    const head = parseRequestHead(seen);
    if (head === 'more') return;
    decide(head === 'invalid' ? undefined : head);
  };
  // A client that half-closes before its head is complete cannot be given its bytes back (a stream takes
  // none after its end): such a truncated request is closed, as the app would have refused it.
  const onEnd = () => {
    seen = null;
    decide(undefined);
    socket.destroy();
  };
  const timer = setTimeout(() => decide(undefined), timeoutMs);
  timer.unref();
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.resume();
  return { release };
}
