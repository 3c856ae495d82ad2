// Decides from a connection's first bytes whether it is HTTP/1.x (layer 7), something that looks like
// HTTP/1.x but is not well-formed (refused: tunnelling it raw would let the app parse what we did not),
// or anything else (layer 4). "GET foo\r\n" (Redis inline), "PRI * HTTP/2.0" (h2c), 0x16 (TLS) and
// other protocols are passed through byte for byte.
import { METHODS } from 'node:http';

export type Sniffed = 'http1' | 'malformed' | 'other' | 'more';

/** Past this many bytes a still-plausible request line is treated as HTTP and left to the head limit. */
export const SNIFF_LIMIT = 16 * 1024;

const VERSION = 'HTTP/';
/** The methods llhttp knows: a request line starting with one of these and a path is HTTP's. */
const KNOWN_METHODS = new Set(METHODS);

function isTchar(c: number): boolean {
  // RFC 9110 token: ALPHA / DIGIT / !#$%&'*+-.^_`|~
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x21 || (c >= 0x23 && c <= 0x27) || c === 0x2a || c === 0x2b || c === 0x2d || c === 0x2e ||
    c === 0x5e || c === 0x5f || c === 0x60 || c === 0x7c || c === 0x7e
  );
}

function methodOf(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let k = start; k < end; k++) s += String.fromCharCode(buf[k]!);
  return s;
}

/** Classifies the bytes seen so far; 'more' means they may still become an HTTP/1.x request line. */
export function sniff(buf: Uint8Array): Sniffed {
  const n = buf.length;
  let i = 0;
  // RFC 9112 §2.2: empty lines before a request line are ignored (llhttp takes CRLF and bare LF).
  let bareLf = false;
  while (i < n) {
    if (buf[i] === 0x0a) {
      bareLf = true;
      i++;
    } else if (buf[i] === 0x0d) {
      if (i + 1 === n) return 'more';
      if (buf[i + 1] !== 0x0a) return 'other';
      i += 2;
    } else break;
  }
  if (i === n) return 'more';
  const line = requestLine(buf, i);
  if (line === 'http1') return bareLf ? 'malformed' : 'http1';
  if (line === 'more') return n >= SNIFF_LIMIT ? 'http1' : 'more';
  if (line === 'malformed') return 'malformed';
  return textLine(buf, i);
}

/** Checks for "METHOD SP target SP HTTP/1.x CRLF" from `start`; 'other' when it is not one at all. */
function requestLine(buf: Uint8Array, start: number): Sniffed {
  const n = buf.length;
  let i = start;
  while (i < n && isTchar(buf[i]!)) i++;
  if (i === n) return 'more';
  if (i === start) return 'other';
  const known = i - start <= 12 && KNOWN_METHODS.has(methodOf(buf, start, i));
  if (buf[i] !== 0x20) {
    // "GET\0", "GET\t": an HTTP method glued to a byte no protocol line has there.
    return known && buf[i] !== 0x0d && buf[i] !== 0x0a ? 'malformed' : 'other';
  }
  if (++i === n) return 'more';
  const targetStart = i;
  const t = buf[i]!;
  // An HTTP method and an origin- or asterisk-form target (or a second space): only HTTP starts like this.
  const bad: Sniffed = known && (t === 0x2f || t === 0x2a || t === 0x20) ? 'malformed' : 'other';
  while (i < n && buf[i]! > 0x20 && buf[i]! !== 0x7f) i++;
  if (i === n) return 'more';
  if (i === targetStart || buf[i] !== 0x20) return bad;
  i++;
  for (let k = 0; k < VERSION.length; k++, i++) {
    if (i === n) return 'more';
    if (buf[i] !== VERSION.charCodeAt(k)) return bad;
  }
  // "METHOD target HTTP/": from here on only a well-formed HTTP/1.0 or 1.1 line passes, except the h2c preface.
  if (i === n) return 'more';
  if (buf[i] === 0x32) return known ? 'malformed' : 'other';
  const expected = [0x31, 0x2e, -1, 0x0d, 0x0a];
  for (let k = 0; k < expected.length; k++, i++) {
    if (i === n) return 'more';
    const c = buf[i]!;
    if (expected[k] === -1 ? c !== 0x30 && c !== 0x31 : c !== expected[k]) return 'malformed';
  }
  return 'http1';
}

const SUFFIXES = [' HTTP/1.1', ' HTTP/1.0'];

/**
 * A first line that is no request line: a text line ending in " HTTP/1.x" is broken HTTP (refused);
 * anything else, or any binary byte, is another protocol. Text is awaited up to its line end.
 */
function textLine(buf: Uint8Array, start: number): Sniffed {
  const n = buf.length;
  for (let i = start; i < n; i++) {
    const c = buf[i]!;
    if (c === 0x0a) {
      let end = i;
      if (end > start && buf[end - 1] === 0x0d) end--;
      for (const suffix of SUFFIXES) {
        if (end - start < suffix.length) continue;
        let match = true;
        for (let k = 0; k < suffix.length && match; k++) match = buf[end - suffix.length + k] === suffix.charCodeAt(k);
        if (match) return 'malformed';
      }
      return 'other';
    }
    if (c === 0x0d ? i + 1 < n && buf[i + 1] !== 0x0a : (c < 0x20 && c !== 0x09) || c === 0x7f) return 'other';
  }
  return n - start >= SNIFF_LIMIT ? 'other' : 'more';
}
