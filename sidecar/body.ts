// Finds where a message body ends in a byte stream without changing a byte: fixed length, chunked
// (with extensions and trailers, passed through as they are), or until the connection closes.
import type { Framing } from './head.ts';

const SIZE = 0;
const EXT = 1;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const LINE_START = 6;
const TRAILER = 7;
const END_LF = 8;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

export class BodyFramer {
  /** The body has ended. */
  done = false;
  /** Why the framing is broken, if it is. */
  error: string | undefined = undefined;
  /** The body runs until the connection ends. */
  readonly untilClose: boolean;
  #kind: Framing['kind'];
  #remaining: number;
  #state = SIZE;
  #digits = 0;
  #trailerBytes = 0;

  constructor(framing: Framing) {
    this.#kind = framing.kind;
    this.untilClose = framing.kind === 'close';
    this.#remaining = framing.kind === 'length' ? framing.length : 0;
    this.done = framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0);
  }

  /** Consumes body bytes of `buf` from `start`; returns the index just past the last body byte. */
  consume(buf: Uint8Array, start: number): number {
    if (this.done || this.error !== undefined) return start;
    const n = buf.length;
    if (this.#kind === 'close') return n;
    if (this.#kind === 'length') {
      const take = Math.min(this.#remaining, n - start);
      this.#remaining -= take;
      if (this.#remaining === 0) this.done = true;
      return start + take;
    }
    let i = start;
    while (i < n) {
      const c = buf[i]!;
      switch (this.#state) {
        case SIZE: {
          const v = hexValue(c);
          if (v >= 0) {
            if (++this.#digits > 12) return this.#fail('a chunk size is too large');
            this.#remaining = this.#remaining * 16 + v;
          } else if (this.#digits === 0) {
            return this.#fail('a chunk size is missing');
          } else if (c === 0x0d) {
            this.#state = SIZE_LF;
          } else if (c === 0x3b || c === 0x20 || c === 0x09) {
            this.#state = EXT;
          } else {
            return this.#fail('a chunk size is not hexadecimal');
          }
          i++;
          break;
        }
        case EXT:
          if (c === 0x0d) this.#state = SIZE_LF;
          else if (c === 0x0a) return this.#fail('a chunk line ends without CR');
          i++;
          break;
        case SIZE_LF:
          if (c !== 0x0a) return this.#fail('a chunk line ends without LF');
          this.#state = this.#remaining === 0 ? LINE_START : DATA;
          i++;
          break;
        case DATA: {
          const take = Math.min(this.#remaining, n - i);
          this.#remaining -= take;
          i += take;
          if (this.#remaining === 0) this.#state = DATA_CR;
          break;
        }
        case DATA_CR:
          if (c !== 0x0d) return this.#fail('chunk data is longer than its size');
          this.#state = DATA_LF;
          i++;
          break;
        case DATA_LF:
          if (c !== 0x0a) return this.#fail('chunk data does not end with CRLF');
          this.#state = SIZE;
          this.#digits = 0;
          i++;
          break;
        case LINE_START:
          this.#state = c === 0x0d ? END_LF : TRAILER;
          i++;
          break;
        case TRAILER:
          if (++this.#trailerBytes > 64 * 1024) return this.#fail('trailers are too large');
          if (c === 0x0a) this.#state = LINE_START;
          i++;
          break;
        case END_LF:
          if (c !== 0x0a) return this.#fail('the last chunk does not end with CRLF');
          this.done = true;
          return i + 1;
      }
    }
    return i;
  }

  #fail(reason: string): number {
    this.error = reason;
    return -1;
  }
}
