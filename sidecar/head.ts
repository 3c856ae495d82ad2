// HTTP/1.x message heads: just enough parsing to frame bodies, follow upgrades and connection reuse,
// spot kubelet probes and append X-Forwarded-*. Strict where framing is at stake (RFC 9112 §6.3), so
// the sidecar and the app never disagree on where a request ends.

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
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) [^\x00-\x20\x7f]+ HTTP\/1\.([01])$/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/;

function hasToken(list: string, token: string): boolean {
  for (const part of list.split(',')) if (part.trim().toLowerCase() === token) return true;
  return false;
}

/** The last transfer-coding of a Transfer-Encoding value, lower-cased. */
function lastCoding(value: string): string {
  const i = value.lastIndexOf(',');
  return (i < 0 ? value : value.slice(i + 1)).trim().toLowerCase();
}

function parseLength(value: string, previous: number): number {
  // "5, 5" and repeated equal headers are one length (RFC 9110 §8.6); anything else is invalid.
  let length = previous;
  for (const part of value.split(',')) {
    const v = part.trim();
    if (!/^\d{1,15}$/.test(v)) return -2;
    const n = Number(v);
    if (length >= 0 && length !== n) return -2;
    length = n;
  }
  return length;
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
    const rawName = line.slice(0, colon);
    if (!TOKEN.test(rawName)) return { error: `header name ${JSON.stringify(rawName)} is not a token` };
    if (line.includes('\n') || line.includes('\r')) return { error: 'a header line contains a bare CR or LF' };
    // Only names of interesting lengths are lower-cased: most headers skip the allocation.
    const len = rawName.length;
    if (len !== 4 && len !== 7 && len !== 10 && len !== 14 && len !== 15 && len !== 16 && len !== 17) continue;
    const name = rawName.toLowerCase();
    const value = line.slice(colon + 1).trim();
    switch (name) {
      case 'content-length':
        f.length = parseLength(value, f.length);
        if (f.length === -2) return { error: `invalid Content-Length ${JSON.stringify(value)}` };
        break;
      case 'transfer-encoding':
        f.te = f.te === undefined ? value : `${f.te}, ${value}`;
        break;
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
  const lines = head.split('\r\n');
  const m = REQUEST_LINE.exec(lines[0]!);
  if (m === null) return { error: 'the request line is not "METHOD target HTTP/1.x"' };
  const method = m[1]!;
  const minor = m[2] === '1' ? 1 : 0;
  const f = readFields(lines);
  if ('error' in f) return f;
  let framing: Framing = NONE;
  if (f.te !== undefined) {
    if (f.length >= 0) return { error: 'both Transfer-Encoding and Content-Length are present' };
    if (lastCoding(f.te) !== 'chunked') return { error: 'Transfer-Encoding does not end with chunked' };
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
  const lines = head.split('\r\n');
  const m = STATUS_LINE.exec(lines[0]!);
  if (m === null) return { error: 'the status line is not "HTTP/1.x NNN reason"' };
  const minor = m[1] === '1' ? 1 : 0;
  const status = Number(m[2]);
  const f = readFields(lines);
  if ('error' in f) return f;
  const conn = f.connection;
  let close = conn === '' ? minor === 0 : hasToken(conn, 'close') || (minor === 0 && !hasToken(conn, 'keep-alive'));
  let framing: Framing;
  if (status < 200 || status === 204 || status === 304 || method === 'HEAD' || (method === 'CONNECT' && status < 300)) {
    framing = NONE;
  } else if (f.te !== undefined) {
    framing = lastCoding(f.te) === 'chunked' ? CHUNKED : CLOSE;
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
  if (req.xfHost < 0 && req.host >= 0) {
    const line = lines[req.host]!;
    lines.push(`X-Forwarded-Host: ${line.slice(line.indexOf(':') + 1).trim()}`);
  }
  if (draining && !req.upgrade && !req.close) {
    if (req.connection >= 0) lines[req.connection] = 'Connection: close';
    else lines.push('Connection: close');
    req.close = true;
  }
  lines.push('', '');
  return lines.join('\r\n');
}
