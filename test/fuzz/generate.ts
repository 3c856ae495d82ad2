// Seeded generators of HTTP/1.x request and response byte streams: valid messages, then mutations of
// line ends, whitespace, header duplication, TE/CL combinations, chunk sizes and extensions,
// trailers, obs-fold, control bytes, truncation and pipelining. Pure: a seed always gives the same bytes.

/** mulberry32: a tiny, well-mixed 32-bit PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

interface Line {
  text: string;
  eol: string;
}

interface Chunk {
  size: string;
  ext: string;
  sizeEol: string;
  data: string;
  dataEol: string;
}

interface Message {
  head: Line[];
  /** Fixed-length body, or chunked pieces. */
  body: string;
  chunks: Chunk[] | null;
  lastChunk: Chunk | null;
  trailers: Line[];
  end: string;
}

const EOLS_BAD = ['\n', '\r', '\r\r\n', '\n\r', ''];
const SPACES_BAD = ['\t', ' ', '\x0b', '\x0c', '\xa0', '\x00', '  '];
const CONTROL = ['\x00', '\x01', '\x07', '\x0b', '\x0c', '\x1f', '\x7f', '\x80', '\xa0', '\xff', '\r', '\n'];
const TE_VALUES = ['chunked', 'Chunked', 'CHUNKED', 'gzip, chunked', 'chunked, gzip', 'chunked, chunked', 'chunked\x0b', 'chunked\xa0', ' chunked', '\tchunked', 'chunked\t', 'identity', 'gzip', ',chunked', 'chunked,', 'xchunked', 'chunked;q=1', ''];
const CL_VALUES = ['+3', '3 ', ' 3', '03', '3,3', '3, 3', '\xa03', '-1', '0x3', '3\x00', '', '1e1', '99999999999999999999', '3\x0b'];
const SIZE_BAD = ['-1', ' 3', '3 ', '0x3', '', 'g', '3\t', '00000000000003', '1000000000000', '+3'];
const EXT_VALUES = [';a=b', ';a', ';a="b c"', ';a=b;c=d', '; a=b', ';a=b c', ';a="\\"x"', ';=b', ';a=', ';a="b', ';a=\x00', ' ;a=b', ';a=\xff'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
const METHODS_BAD = ['FOO', 'get', 'G ET', 'GET\x00', 'PRI'];

function word(rng: Rng, n: number): string {
  let s = '';
  for (let k = 0; k < n; k++) s += String.fromCharCode(0x61 + rng.int(26));
  return s;
}

function hex(n: number, rng: Rng): string {
  const h = n.toString(16);
  const cased = rng.chance(0.3) ? h.toUpperCase() : h;
  return rng.chance(0.15) ? '0'.repeat(1 + rng.int(4)) + cased : cased;
}

function validRequest(rng: Rng, index: number): Message {
  const method = rng.pick(METHODS);
  const version = rng.chance(0.15) ? '1.0' : '1.1';
  const head: Line[] = [{ text: `${method} /r${index}/${word(rng, 3)} HTTP/${version}`, eol: '\r\n' }, { text: 'Host: x', eol: '\r\n' }];
  if (rng.chance(0.3)) head.push({ text: `X-${word(rng, 4)}: ${word(rng, 6)}`, eol: '\r\n' });
  const msg: Message = { head, body: '', chunks: null, lastChunk: null, trailers: [], end: '' };
  const kind = method === 'GET' || method === 'DELETE' || method === 'OPTIONS' ? rng.pick(['none', 'none', 'length']) : rng.pick(['length', 'chunked', 'chunked']);
  if (kind === 'length') {
    msg.body = word(rng, rng.int(12));
    head.push({ text: `Content-Length: ${msg.body.length}`, eol: '\r\n' });
  } else if (kind === 'chunked' && version === '1.1') {
    head.push({ text: 'Transfer-Encoding: chunked', eol: '\r\n' });
    msg.chunks = [];
    for (let k = rng.int(3) + 1; k > 0; k--) {
      const data = word(rng, 1 + rng.int(20));
      msg.chunks.push({ size: hex(data.length, rng), ext: rng.chance(0.2) ? rng.pick(EXT_VALUES.slice(0, 4)) : '', sizeEol: '\r\n', data, dataEol: '\r\n' });
    }
    msg.lastChunk = { size: rng.chance(0.1) ? '000' : '0', ext: '', sizeEol: '\r\n', data: '', dataEol: '' };
    if (rng.chance(0.3)) msg.trailers.push({ text: `X-T: ${rng.int(10)}`, eol: '\r\n' });
  }
  if (rng.chance(0.1)) head.push({ text: 'Connection: close', eol: '\r\n' });
  msg.end = '\r\n';
  return msg;
}

function lineIndex(rng: Rng, msg: Message): number {
  return rng.int(msg.head.length);
}

function headerLine(msg: Message, name: string): Line | undefined {
  return msg.head.find((l) => l.text.toLowerCase().startsWith(`${name}:`));
}

/** One structural mutation of a message. */
function mutate(rng: Rng, msg: Message): void {
  switch (rng.int(16)) {
    case 0: // a line end
      msg.head[lineIndex(rng, msg)]!.eol = rng.pick(EOLS_BAD);
      break;
    case 1: // the empty line ending the head
      msg.end = rng.pick(EOLS_BAD);
      break;
    case 2: { // whitespace around a name or value
      const line = msg.head[1 + rng.int(msg.head.length - 1)];
      if (line === undefined) break;
      const colon = line.text.indexOf(':');
      const sp = rng.pick(SPACES_BAD);
      const where = rng.int(3);
      line.text = where === 0 ? line.text.slice(0, colon) + sp + line.text.slice(colon) : where === 1 ? line.text + sp : line.text.slice(0, colon + 1) + sp + line.text.slice(colon + 1);
      break;
    }
    case 3: { // duplication
      const line = msg.head[1 + rng.int(msg.head.length - 1)];
      if (line !== undefined) msg.head.splice(1 + rng.int(msg.head.length - 1), 0, { ...line });
      break;
    }
    case 4: // Transfer-Encoding added or changed
      {
        const te = headerLine(msg, 'transfer-encoding');
        const value = rng.pick(TE_VALUES);
        if (te !== undefined && rng.chance(0.5)) te.text = `Transfer-Encoding: ${value}`;
        else msg.head.splice(1 + rng.int(msg.head.length), 0, { text: `${rng.pick(['Transfer-Encoding', 'transfer-encoding', 'Transfer-encoding'])}: ${value}`, eol: '\r\n' });
      }
      break;
    case 5: // Content-Length added or changed
      {
        const cl = headerLine(msg, 'content-length');
        const value = rng.chance(0.5) ? rng.pick(CL_VALUES) : String(rng.int(8));
        if (cl !== undefined && rng.chance(0.6)) cl.text = `Content-Length: ${value}`;
        else msg.head.splice(1 + rng.int(msg.head.length), 0, { text: `Content-Length: ${value}`, eol: '\r\n' });
      }
      break;
    case 6: // obs-fold
      msg.head.splice(1 + rng.int(msg.head.length), 0, { text: `${rng.pick([' ', '\t'])}${word(rng, 3)}`, eol: '\r\n' });
      break;
    case 7: { // a control byte in a line
      const line = msg.head[lineIndex(rng, msg)]!;
      const at = rng.int(line.text.length + 1);
      line.text = line.text.slice(0, at) + rng.pick(CONTROL) + line.text.slice(at);
      break;
    }
    case 8: { // request line
      const parts = msg.head[0]!.text.split(' ');
      const what = rng.int(4);
      if (what === 0) parts[0] = rng.pick(METHODS_BAD);
      else if (what === 1) parts[2] = rng.pick(['HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', 'HTTP/1.1 ', 'http/1.1', 'HTTP/1.10']);
      else if (what === 2) parts[1] = `${parts[1]}${rng.pick([' x', '\x00', '\x80', '\t', '#f', '?q= '])}`;
      else parts[0] = `${parts[0]} `;
      msg.head[0]!.text = parts.join(' ');
      break;
    }
    case 9: case 10: { // chunk lines
      const chunks = msg.chunks;
      if (chunks === null || chunks.length === 0) break;
      const c = rng.chance(0.2) && msg.lastChunk !== null ? msg.lastChunk : rng.pick(chunks);
      const what = rng.int(6);
      if (what === 0) c.size = rng.pick(SIZE_BAD);
      else if (what === 1) c.ext = rng.pick(EXT_VALUES);
      else if (what === 2) c.sizeEol = rng.pick(EOLS_BAD);
      else if (what === 3) c.dataEol = rng.pick(EOLS_BAD);
      else if (what === 4) c.size = (parseInt(c.size, 16) + rng.pick([-1, 1])).toString(16);
      else c.data += rng.pick(['\r\n', 'x', '\n']);
      break;
    }
    case 11: { // trailers
      if (msg.lastChunk === null) break;
      const what = rng.int(4);
      if (what === 0) msg.trailers.push({ text: 'X-T: 1', eol: '\n' });
      else if (what === 1) msg.trailers.push({ text: rng.pick(['X-T 1', ' X-T: 1', 'X T: 1', 'X-T: a\x00b', 'X-T: a\x0bb', ': 1']), eol: '\r\n' });
      else if (what === 2) msg.end = '\n';
      else msg.trailers.push({ text: `Content-Length: ${rng.int(5)}`, eol: rng.pick(['\r\n', '\n']) });
      break;
    }
    case 12: // HTTP/1.0 with a chunked body
      msg.head[0]!.text = msg.head[0]!.text.replace('HTTP/1.1', 'HTTP/1.0');
      break;
    case 13: // a header with a bad name
      msg.head.splice(1 + rng.int(msg.head.length), 0, { text: `${rng.pick(['X Y', 'X\x00', '', 'X"', 'X\x7f', '\xe9'])}: v`, eol: '\r\n' });
      break;
    case 14: // a bare-LF-ended header followed by what could be a second head
      msg.head.splice(1 + rng.int(msg.head.length), 0, { text: 'X-A: 1\nX-B: 2', eol: '\r\n' });
      break;
    default: // Upgrade / Expect / Connection variants that touch framing decisions
      msg.head.splice(1 + rng.int(msg.head.length), 0, { text: rng.pick(['Expect: 100-continue', 'Connection: keep-alive', 'Connection: close, x', 'Connection:\x0bclose', 'Keep-Alive: timeout=5']), eol: '\r\n' });
  }
}

function serialize(msg: Message): string {
  let s = '';
  for (const line of msg.head) s += line.text + line.eol;
  s += msg.end;
  if (msg.chunks === null) return s + msg.body;
  for (const c of msg.chunks) s += c.size + c.ext + c.sizeEol + c.data + c.dataEol;
  const last = msg.lastChunk!;
  s += last.size + last.ext + last.sizeEol;
  for (const t of msg.trailers) s += t.text + t.eol;
  // The empty line after the trailers takes the head's ending (mutated or not) when it was mutated.
  return s + (msg.end === '\r\n' ? '\r\n' : msg.end);
}

/** Byte-level noise: a flip, an insert or a delete at a random place. */
function noise(rng: Rng, s: string): string {
  const at = rng.int(s.length + 1);
  const what = rng.int(3);
  if (what === 0) return s.slice(0, at) + rng.pick(CONTROL.concat([' ', ':', ';', '0', 'a'])) + s.slice(at + 1);
  if (what === 1) return s.slice(0, at) + rng.pick(CONTROL.concat(['\r\n', ' ', '0\r\n\r\n'])) + s.slice(at);
  return s.slice(0, at) + s.slice(at + 1);
}

export interface RequestCase {
  seed: number;
  bytes: string;
  /** Mutations applied (0: a valid stream). */
  mutations: number;
}

/** Case `seed`: one to three pipelined requests, mutated a few times (about a fifth stay valid). */
export function requestCase(seed: number): RequestCase {
  const rng = new Rng(seed);
  const count = 1 + rng.int(3);
  const msgs: Message[] = [];
  for (let k = 0; k < count; k++) msgs.push(validRequest(rng, k));
  let mutations = rng.chance(0.2) ? 0 : 1 + rng.int(3);
  for (let k = 0; k < mutations; k++) mutate(rng, rng.pick(msgs));
  let bytes = msgs.map(serialize).join('');
  if (rng.chance(0.05)) {
    // Empty lines before a request: CRLF is fine; a bare LF llhttp takes, the sidecar refuses.
    const empty = rng.pick(['\r\n', '\n', '\r\n\r\n']);
    if (empty.includes('\n') && !empty.includes('\r')) mutations++;
    bytes = empty + bytes;
  }
  if (mutations > 0 && rng.chance(0.15)) bytes = noise(rng, bytes);
  if (rng.chance(0.05)) bytes = bytes.slice(0, rng.int(bytes.length));
  return { seed, bytes, mutations };
}

export interface ResponseCase {
  seed: number;
  /** What the app writes for the first request on a connection. */
  bytes: string;
  /** The app ends the connection after writing it (a close-delimited body). */
  closeAfter: boolean;
  mutations: number;
}

function validResponse(rng: Rng): { msg: Message; closeAfter: boolean } {
  const status = rng.pick([200, 200, 200, 201, 204, 304, 404, 500]);
  const head: Line[] = [{ text: `HTTP/1.1 ${status} ${rng.pick(['OK', 'Whatever', ''])}`.trimEnd(), eol: '\r\n' }];
  if (rng.chance(0.3)) head.push({ text: `X-${word(rng, 4)}: ${word(rng, 5)}`, eol: '\r\n' });
  const msg: Message = { head, body: '', chunks: null, lastChunk: null, trailers: [], end: '\r\n' };
  let closeAfter = false;
  const bodyless = status === 204 || status === 304;
  const kind = bodyless ? 'none' : rng.pick(['length', 'length', 'chunked', 'chunked', 'close']);
  if (kind === 'length') {
    msg.body = word(rng, rng.int(16));
    head.push({ text: `Content-Length: ${msg.body.length}`, eol: '\r\n' });
  } else if (kind === 'chunked') {
    head.push({ text: 'Transfer-Encoding: chunked', eol: '\r\n' });
    msg.chunks = [];
    for (let k = rng.int(3) + 1; k > 0; k--) {
      const data = word(rng, 1 + rng.int(20));
      msg.chunks.push({ size: hex(data.length, rng), ext: '', sizeEol: '\r\n', data, dataEol: '\r\n' });
    }
    msg.lastChunk = { size: '0', ext: '', sizeEol: '\r\n', data: '', dataEol: '' };
  } else if (kind === 'close') {
    msg.body = word(rng, rng.int(16));
    closeAfter = true;
  }
  if (rng.chance(0.2)) head.splice(1, 0, { text: 'Connection: close', eol: '\r\n' });
  if (rng.chance(0.1)) {
    // An interim response first.
    return { msg: { ...msg, head: [{ text: 'HTTP/1.1 100 Continue', eol: '\r\n' }, { text: '', eol: '\r\n' }, ...head] }, closeAfter };
  }
  return { msg, closeAfter };
}

/** Case `seed`: a response to GET, mutated a few times; sometimes with a smuggled second response behind it. */
export function responseCase(seed: number): ResponseCase {
  const rng = new Rng(seed);
  const { msg, closeAfter } = validResponse(rng);
  const mutations = rng.chance(0.2) ? 0 : 1 + rng.int(3);
  for (let k = 0; k < mutations; k++) {
    const what = rng.int(10);
    if (what < 8) mutate(rng, msg);
    else if (what === 8) msg.head[0]!.text = rng.pick(['HTTP/1.1 2000 OK', 'HTTP/1.1 20 OK', 'HTTP/1.2 200 OK', 'HTTP/1.1  200 OK', 'HTTP/1.1 200\x00', 'HTTP/1.1 101 Switching Protocols', 'HTTP/1.1 199 X', 'ICY 200 OK']);
    else msg.head[0]!.text = msg.head[0]!.text.replace(/^HTTP\/1\.1 \d+/, `HTTP/1.1 ${rng.pick([204, 304, 100, 103])}`);
  }
  let bytes = serialize(msg);
  if (rng.chance(0.2)) bytes += 'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled';
  if (mutations > 0 && rng.chance(0.15)) bytes = noise(rng, bytes);
  return { seed, bytes, closeAfter, mutations };
}
