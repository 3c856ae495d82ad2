// Decides from a connection's first bytes whether it is HTTP/1.x (layer 7) or anything else (layer 4).
// Only a complete, well-formed HTTP/1.0 or 1.1 request line means HTTP: "GET foo\r\n" (Redis inline),
// "PRI * HTTP/2.0" (h2c), 0x16 (TLS) and everything else is passed through byte for byte.

export type Sniffed = 'http1' | 'other' | 'more';

/** Past this many bytes a still-plausible request line is treated as HTTP and left to the head limit. */
export const SNIFF_LIMIT = 16 * 1024;

const VERSION = 'HTTP/1.';

function isTchar(c: number): boolean {
  // RFC 9110 token: ALPHA / DIGIT / !#$%&'*+-.^_`|~
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x21 || (c >= 0x23 && c <= 0x27) || c === 0x2a || c === 0x2b || c === 0x2d || c === 0x2e ||
    c === 0x5e || c === 0x5f || c === 0x60 || c === 0x7c || c === 0x7e
  );
}

/** Classifies the bytes seen so far; 'more' means they are a prefix of an HTTP/1.x request line. */
export function sniff(buf: Uint8Array): Sniffed {
  const n = buf.length;
  let i = 0;
  while (i < n && isTchar(buf[i]!)) i++;
  if (i === n) return n >= SNIFF_LIMIT ? 'http1' : 'more';
  if (i === 0 || buf[i] !== 0x20) return 'other';
  i++;
  const targetStart = i;
  while (i < n && buf[i]! > 0x20 && buf[i]! !== 0x7f) i++;
  if (i === n) return n >= SNIFF_LIMIT ? 'http1' : 'more';
  if (i === targetStart || buf[i] !== 0x20) return 'other';
  i++;
  for (let k = 0; k < VERSION.length; k++, i++) {
    if (i === n) return 'more';
    if (buf[i] !== VERSION.charCodeAt(k)) return 'other';
  }
  if (i === n) return 'more';
  if (buf[i] !== 0x30 && buf[i] !== 0x31) return 'other';
  i++;
  if (i === n) return 'more';
  if (buf[i] !== 0x0d) return 'other';
  i++;
  if (i === n) return 'more';
  return buf[i] === 0x0a ? 'http1' : 'other';
}
