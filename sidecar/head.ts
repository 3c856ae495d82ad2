// HTTP/1.x message heads: just enough parsing to frame bodies, follow upgrades and connection reuse,
// spot kubelet probes and append X-Forwarded-*. As strict as llhttp (Node's parser, non-lenient) or
// stricter, never looser: whatever we accept, llhttp and Go's net/http frame the same way
// (test/unit/sidecar/differential.test.ts checks it against a real node:http).
import { METHODS } from 'node:http';

/** How a body is delimited: none, a byte count, chunked, or (responses only) the connection's end. */
export type Framing = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

export interface RequestHead {
  method: string;
  /** Minor version: 0 or 1. */
  minor: number;
  framing: Framing;
  /** Asks to switch protocols (Connection: upgrade + Upgrade) or to tunnel (CONNECT). */
  upgrade: boolean;
  /** The client ends the connection after this exchange (Connection: close, or HTTP/1.0 without keep-alive). */
  close: boolean;
  /** A kubelet probe (User-Agent: kube-probe/…): forwarded, but not activity. */
  probe: boolean;
  /** Header lines, request line first, without the final empty line. */
  lines: string[];
  xff: number;
  xfProto: number;
  xfHost: number;
  host: number;
  connection: number;
}

export interface ResponseHead {
  status: number;
  minor: number;
  framing: Framing;
  /** The app will not take another request on this connection. */
  close: boolean;
  /** From `Keep-Alive: timeout=N`, in ms; 0 when absent. */
  keepAliveMs: number;
}

export interface HeadError {
  error: string;
}

const NONE: Framing = { kind: 'none' };
const CHUNKED: Framing = { kind: 'chunked' };
const CLOSE: Framing = { kind: 'close' };
/** tchar (RFC 9110 §5.6.2): what a header name is made of. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** The first `end` characters of `text` are all tchar (checked in place: no slice per header line). */
function isToken(text: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TCHAR[c] !== 1) return false;
  }
  return end > 0;
}
// llhttp refuses a target with bytes outside 0x21-0x7e and any method it does not know.
const REQUEST_LINE = /^([A-Z-]+) [\x21-\x7e]+ HTTP\/1\.([01])$/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/;
const KNOWN_METHODS = new Set(METHODS);
/** Origin-form, asterisk-form or absolute-form (authority-form is CONNECT's alone). */
const ORIGIN_OR_ABSOLUTE = /^(?:\/|\* |[A-Za-z][A-Za-z0-9+.-]*:\/\/)/;
/**
 * Control bytes a head may not carry (HTAB is allowed), and CR or LF that are not a CRLF pair. A
 * loop: three times faster than the equivalent regular expression (lookbehind) on a typical head.
 */
function hasBadBytes(head: string): boolean {
  for (let i = 0, n = head.length; i < n; i++) {
    const c = head.charCodeAt(i);
    if (c >= 0x20 ? c === 0x7f : c !== 0x09) {
      if (c === 0x0d && head.charCodeAt(i + 1) === 0x0a) {
        i++;
        continue;
      }
      return true;
    }
  }
  return false;
}
const DIGITS = /^\d{1,15}$/;

/** Strips optional whitespace (SP, HTAB) only: String#trim also strips VT, FF and NBSP, which llhttp does not. */
function ows(value: string): string {
  let a = 0;
  let b = value.length;
  while (a < b && (value.charCodeAt(a) === 0x20 || value.charCodeAt(a) === 0x09)) a++;
  while (b > a && (value.charCodeAt(b - 1) === 0x20 || value.charCodeAt(b - 1) === 0x09)) b--;
  return a === 0 && b === value.length ? value : value.slice(a, b);
}

function hasToken(list: string, token: string): boolean {
  for (const part of list.split(',')) if (ows(part).toLowerCase() === token) return true;
  return false;
}

const TE_CHUNKED = 1;
const TE_OTHER = 2;
const TE_INVALID = 3;

/** Chunked when `chunked` is the last coding and appears once; llhttp also refuses HTAB inside the value. */
function transferCoding(value: string): number {
  if (value.includes('\t')) return TE_INVALID;
  const parts = value.split(',');
  for (let k = 0; k < parts.length - 1; k++) if (ows(parts[k]!).toLowerCase() === 'chunked') return TE_INVALID;
  const last = ows(parts[parts.length - 1]!).toLowerCase();
  if (last === 'chunked') return TE_CHUNKED;
  return last === '' ? TE_INVALID : TE_OTHER;
}

interface Fields {
  length: number;
  te: string | undefined;
  connection: string;
  upgradeHeader: boolean;
  keepAlive: string | undefined;
  userAgent: string | undefined;
  index: { xff: number; xfProto: number; xfHost: number; host: number; connection: number };
}

function readFields(lines: string[]): Fields | HeadError {
  const f: Fields = {
    length: -1, te: undefined, connection: '', upgradeHeader: false, keepAlive: undefined, userAgent: undefined,
    index: { xff: -1, xfProto: -1, xfHost: -1, host: -1, connection: -1 },
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) return { error: 'a header line has no name' };
    if (!isToken(line, colon)) return { error: `header name ${JSON.stringify(line.slice(0, colon))} is not a token` };
    // Only names of interesting lengths are sliced and lower-cased: most headers skip the allocation.
    const len = colon;
    if (len !== 4 && len !== 7 && len !== 10 && len !== 14 && len !== 15 && len !== 16 && len !== 17) continue;
    const name = line.slice(0, colon).toLowerCase();
    const value = ows(line.slice(colon + 1));
    switch (name) {
      case 'content-length':
        // One Content-Length of digits only: llhttp refuses "5, 5" and a repeated header.
        if (f.length >= 0) return { error: 'Content-Length is repeated' };
        if (!DIGITS.test(value)) return { error: `invalid Content-Length ${JSON.stringify(value)}` };
        f.length = Number(value);
        break;
      case 'transfer-encoding': {
        // Untrimmed: llhttp does not take HTAB around a coding as whitespace, so neither may we.
        const raw = line.slice(colon + 1);
        // An empty Transfer-Encoding line makes llhttp refuse the message; HTAB marks the value invalid here.
        const coding = value === '' ? '\t' : raw;
        f.te = f.te === undefined ? coding : `${f.te},${coding}`;
        break;
      }
      case 'connection':
        f.connection = f.connection === '' ? value : `${f.connection}, ${value}`;
        f.index.connection = i;
        break;
      case 'upgrade':
        f.upgradeHeader = true;
        break;
      case 'keep-alive':
        f.keepAlive = value;
        break;
      case 'user-agent':
        f.userAgent = value;
        break;
      case 'x-forwarded-for':
        f.index.xff = i;
        break;
      case 'x-forwarded-proto':
        f.index.xfProto = i;
        break;
      case 'x-forwarded-host':
        f.index.xfHost = i;
        break;
      case 'host':
        f.index.host = i;
        break;
    }
  }
  return f;
}

/** Parses a request head (the text before the empty line, CRLF-separated, latin1). */
export function parseRequestHead(head: string): RequestHead | HeadError {
  if (hasBadBytes(head)) return { error: 'the head contains a control byte, or a CR or LF outside a CRLF line end' };
  const lines = head.split('\r\n');
  const m = REQUEST_LINE.exec(lines[0]!);
  if (m === null) return { error: 'the request line is not "METHOD target HTTP/1.x"' };
  const method = m[1]!;
  if (!KNOWN_METHODS.has(method)) return { error: `method ${method} is not one Node's parser knows` };
  if (method !== 'CONNECT' && lines[0]!.charCodeAt(method.length + 1) !== 0x2f && !ORIGIN_OR_ABSOLUTE.test(lines[0]!.slice(method.length + 1))) {
    return { error: 'the request target is not a path, *, or an absolute URL' };
  }
  const minor = m[2] === '1' ? 1 : 0;
  const f = readFields(lines);
  if ('error' in f) return f;
  let framing: Framing = NONE;
  if (f.te !== undefined) {
    if (f.length >= 0) return { error: 'both Transfer-Encoding and Content-Length are present' };
    // RFC 9112 §6.1: Go ignores Transfer-Encoding on HTTP/1.0, llhttp does not; refusing is the one safe answer.
    if (minor === 0) return { error: 'Transfer-Encoding on an HTTP/1.0 request' };
    if (transferCoding(f.te) !== TE_CHUNKED) return { error: 'Transfer-Encoding does not end with chunked (once)' };
    framing = CHUNKED;
  } else if (f.length > 0) {
    framing = { kind: 'length', length: f.length };
  }
  const conn = f.connection;
  const close = conn === '' ? minor === 0 : hasToken(conn, 'close') || (minor === 0 && !hasToken(conn, 'keep-alive'));
  const upgrade = method === 'CONNECT' || (f.upgradeHeader && conn !== '' && hasToken(conn, 'upgrade'));
  const probe = f.userAgent !== undefined && f.userAgent.startsWith('kube-probe/');
  return { method, minor, framing, upgrade, close, probe, lines, ...f.index };
}

/** Parses a response head; the request's method decides whether a body can follow (HEAD, CONNECT). */
export function parseResponseHead(head: string, method: string): ResponseHead | HeadError {
  if (hasBadBytes(head)) return { error: 'the head contains a control byte, or a CR or LF outside a CRLF line end' };
  const lines = head.split('\r\n');
  const m = STATUS_LINE.exec(lines[0]!);
  if (m === null) return { error: 'the status line is not "HTTP/1.x NNN reason"' };
  const minor = m[1] === '1' ? 1 : 0;
  const status = Number(m[2]);
  if (status < 100) return { error: `status ${m[2]} is below 100` };
  const f = readFields(lines);
  if ('error' in f) return f;
  const conn = f.connection;
  let close = conn === '' ? minor === 0 : hasToken(conn, 'close') || (minor === 0 && !hasToken(conn, 'keep-alive'));
  // Checked even where no body follows (1xx, 204, 304, HEAD), as llhttp does.
  const coding = f.te === undefined ? 0 : transferCoding(f.te);
  if (coding !== 0 && f.length >= 0) return { error: 'both Transfer-Encoding and Content-Length are present' };
  if (coding === TE_INVALID) return { error: 'Transfer-Encoding is not a valid list of codings' };
  let framing: Framing;
  if (status < 200 || status === 204 || status === 304 || method === 'HEAD' || (method === 'CONNECT' && status < 300)) {
    framing = NONE;
  } else if (coding !== 0) {
    framing = coding === TE_CHUNKED ? CHUNKED : CLOSE;
  } else if (f.length >= 0) {
    framing = { kind: 'length', length: f.length };
  } else {
    framing = CLOSE;
  }
  if (framing.kind === 'close') close = true;
  let keepAliveMs = 0;
  if (f.keepAlive !== undefined) {
    const t = /(?:^|[,;\s])timeout=(\d+)/i.exec(f.keepAlive);
    if (t !== null) keepAliveMs = Number(t[1]) * 1000;
  }
  return { status, minor, framing, close, keepAliveMs };
}

/** The Host header's value (the request has one: `req.host >= 0`). */
export function hostValue(req: RequestHead): string {
  const line = req.lines[req.host]!;
  return ows(line.slice(line.indexOf(':') + 1));
}

/**
 * The common case: no X-Forwarded-* from a proxy before us and no Connection to rewrite, so the head
 * goes out as it came with only lines appended (forwarded-suffix.ts), the same bytes forwardedHead builds.
 */
export function forwardsAsIs(req: RequestHead, draining: boolean): boolean {
  return req.xff < 0 && req.xfProto < 0 && req.xfHost < 0 && (!draining || req.upgrade || req.close);
}

/**
 * The head to send to the app: X-Forwarded-For appended with the client's address (as nginx and
 * Envoy do), X-Forwarded-Proto and -Host added only when no proxy before us set them, and
 * `Connection: close` while draining so clients move to other pods.
 */
export function forwardedHead(req: RequestHead, clientAddress: string, draining: boolean): string {
  const lines = req.lines;
  if (req.xff >= 0) lines[req.xff] = `${lines[req.xff]}, ${clientAddress}`;
  else lines.push(`X-Forwarded-For: ${clientAddress}`);
  if (req.xfProto < 0) lines.push('X-Forwarded-Proto: http');
  if (req.xfHost < 0 && req.host >= 0) lines.push(`X-Forwarded-Host: ${hostValue(req)}`);
  if (draining && !req.upgrade && !req.close) {
    if (req.connection >= 0) lines[req.connection] = 'Connection: close';
    else lines.push('Connection: close');
    req.close = true;
  }
  lines.push('', '');
  return lines.join('\r\n');
}
