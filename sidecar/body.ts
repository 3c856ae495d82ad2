// Finds where a message body ends in a byte stream without changing a byte: fixed length, chunked
// (extensions and trailers passed through as they are), or until the connection closes. Chunked
// framing is checked as strictly as llhttp does (CRLF only, token extensions, header-like trailers),
// or more strictly, so no byte sequence ends a body here and elsewhere in the app.
import type { Framing } from './head.ts';

const SIZE = 0; // first hex digit of a chunk size
const SIZE_MORE = 1;
const EXT_NAME_START = 2;
const EXT_NAME = 3;
const EXT_VALUE_START = 4;
const EXT_VALUE = 5;
const EXT_QUOTED = 6;
const EXT_QUOTED_ESCAPE = 7;
const EXT_QUOTED_END = 8;
const SIZE_LF = 9;
const DATA = 10;
const DATA_CR = 11;
const DATA_LF = 12;
const TRAILER_START = 13;
const TRAILER_NAME = 14;
const TRAILER_VALUE = 15;
const TRAILER_LF = 16;
const END_LF = 17;

/** Significant hex digits of a chunk size: 12 is 256 TiB, well inside a double's exact range. */
const MAX_SIZE_DIGITS = 12;
/** Bytes of chunk extensions per line and of trailers in all. */
const MAX_EXTENSION = 4096;
const MAX_TRAILERS = 64 * 1024;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

// RFC 9110 tchar as a lookup table.
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** A field value byte: HTAB, SP, VCHAR, obs-text. */
function isValueByte(c: number): boolean {
  return c === 0x09 || (c >= 0x20 && c !== 0x7f);
}

export class BodyFramer {
  /** The body has ended. */
  done = false;
  /** Why the framing is broken, if it is. */
  error: string | undefined = undefined;
  /** The body runs until the connection ends. */
  untilClose = false;
  #kind: Framing['kind'] = 'none';
  #remaining = 0;
  #state = SIZE;
  #digits = 0;
  #extensionBytes = 0;
  #trailerBytes = 0;
  /** The current trailer's name, lower-cased (trailers are rare: no cost on the common path). */
  #trailerName = '';

  constructor(framing: Framing) {
    this.reset(framing);
  }

  /** Starts on the next body: one framer per connection side, not one per message. */
  reset(framing: Framing): this {
    this.done = framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0);
    this.error = undefined;
    this.untilClose = framing.kind === 'close';
    this.#kind = framing.kind;
    this.#remaining = framing.kind === 'length' ? framing.length : 0;
    this.#state = SIZE;
    this.#digits = 0;
    this.#extensionBytes = 0;
    this.#trailerBytes = 0;
    this.#trailerName = '';
    return this;
  }

  /**
   * Consumes body bytes of `buf` from `start`; returns the index just past the last body byte. On
   * broken framing, `error` is set and the index returned is that of the first bad byte.
   */
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
        case SIZE:
        case SIZE_MORE: {
          const v = hexValue(c);
          if (v >= 0) {
            if ((this.#remaining > 0 || v > 0) && ++this.#digits > MAX_SIZE_DIGITS) return this.#fail(i, 'a chunk size is too large');
            this.#remaining = this.#remaining * 16 + v;
            this.#state = SIZE_MORE;
          } else if (this.#state === SIZE) {
            return this.#fail(i, 'a chunk size is missing');
          } else if (c === 0x0d) {
            this.#state = SIZE_LF;
          } else if (c === 0x3b) {
            this.#extensionBytes = 0;
            this.#state = EXT_NAME_START;
          } else {
            return this.#fail(i, 'a chunk size is not hexadecimal');
          }
          break;
        }
        case EXT_NAME_START:
          if (TCHAR[c] !== 1) return this.#fail(i, 'a chunk extension has no name');
          this.#state = EXT_NAME;
          break;
        case EXT_NAME:
        case EXT_VALUE:
          if (c === 0x0d) this.#state = SIZE_LF;
          else if (c === 0x3b) this.#state = EXT_NAME_START;
          else if (c === 0x3d && this.#state === EXT_NAME) this.#state = EXT_VALUE_START;
          else if (TCHAR[c] !== 1) return this.#fail(i, 'a chunk extension has an invalid byte');
          break;
        case EXT_VALUE_START:
          if (c === 0x22) this.#state = EXT_QUOTED;
          else if (TCHAR[c] === 1) this.#state = EXT_VALUE;
          else return this.#fail(i, 'a chunk extension has an invalid value');
          break;
        case EXT_QUOTED:
          if (c === 0x22) this.#state = EXT_QUOTED_END;
          else if (c === 0x5c) this.#state = EXT_QUOTED_ESCAPE;
          else if (!isValueByte(c)) return this.#fail(i, 'a chunk extension has an invalid quoted value');
          break;
        case EXT_QUOTED_ESCAPE:
          if (!isValueByte(c)) return this.#fail(i, 'a chunk extension has an invalid quoted value');
          this.#state = EXT_QUOTED;
          break;
        case EXT_QUOTED_END:
          if (c === 0x0d) this.#state = SIZE_LF;
          else if (c === 0x3b) this.#state = EXT_NAME_START;
          else return this.#fail(i, 'a chunk extension has bytes after its quoted value');
          break;
        case SIZE_LF:
          if (c !== 0x0a) return this.#fail(i, 'a chunk line does not end with CRLF');
          this.#digits = 0;
          this.#state = this.#remaining === 0 ? TRAILER_START : DATA;
          break;
        case DATA: {
          const take = Math.min(this.#remaining, n - i);
          this.#remaining -= take;
          i += take;
          if (this.#remaining === 0) this.#state = DATA_CR;
          continue;
        }
        case DATA_CR:
          if (c !== 0x0d) return this.#fail(i, 'chunk data does not end with CRLF');
          this.#state = DATA_LF;
          break;
        case DATA_LF:
          if (c !== 0x0a) return this.#fail(i, 'chunk data does not end with CRLF');
          this.#state = SIZE;
          break;
        case TRAILER_START:
          if (c === 0x0d) this.#state = END_LF;
          else if (TCHAR[c] === 1) {
            this.#state = TRAILER_NAME;
            this.#trailerName = String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
          } else return this.#fail(i, 'a trailer line is not "name: value" ending with CRLF');
          break;
        case TRAILER_NAME:
          if (c === 0x3a) {
            // llhttp reads trailers as headers: a framing header there is refused, so it is here.
            if (this.#trailerName === 'content-length' || this.#trailerName === 'transfer-encoding') return this.#fail(i, `a ${this.#trailerName} trailer`);
            this.#state = TRAILER_VALUE;
          } else if (TCHAR[c] !== 1) return this.#fail(i, 'a trailer name is not a token');
          else if (this.#trailerName.length < 20) this.#trailerName += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
          break;
        case TRAILER_VALUE:
          if (c === 0x0d) this.#state = TRAILER_LF;
          else if (!isValueByte(c)) return this.#fail(i, 'a trailer value has a control byte or a bare LF');
          break;
        case TRAILER_LF:
          if (c !== 0x0a) return this.#fail(i, 'a trailer line does not end with CRLF');
          this.#state = TRAILER_START;
          break;
        case END_LF:
          if (c !== 0x0a) return this.#fail(i, 'the last chunk does not end with CRLF');
          this.done = true;
          return i + 1;
      }
      if (this.#state >= TRAILER_START) {
        if (++this.#trailerBytes > MAX_TRAILERS) return this.#fail(i, 'trailers are too large');
      } else if (this.#state >= EXT_NAME_START && this.#state <= EXT_QUOTED_END) {
        if (++this.#extensionBytes > MAX_EXTENSION) return this.#fail(i, 'chunk extensions are too long');
      }
      i++;
    }
    return i;
  }

  #fail(at: number, reason: string): number {
    this.error = reason;
    return at;
  }
}
