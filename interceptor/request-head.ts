// Reads an HTTP/1.x request head from the bytes a held connection sent, for the waiting page only: the
// bytes themselves are given back untouched to whoever forwards the connection. Pure.

export interface RequestHead {
  method: string;
  /** The request target as sent (origin-form for browsers). */
  target: string;
  version: '1.0' | '1.1';
  /** Lower-case names; repeated fields joined with ", " (RFC 9110 §5.3). */
  headers: ReadonlyMap<string, string>;
}

export type HeadResult = RequestHead | 'more' | 'invalid';

/** Past this, a head is no browser's: the connection is held as it is. */
export const HEAD_LIMIT = 16 * 1024;

const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/1\.([01])$/;
const FIELD = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/;

export function parseRequestHead(buf: Buffer): HeadResult {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return buf.length >= HEAD_LIMIT ? 'invalid' : 'more';
  if (end > HEAD_LIMIT) return 'invalid';
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const line = REQUEST_LINE.exec(lines[0]!);
  if (line === null) return 'invalid';
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const field = FIELD.exec(lines[i]!);
    if (field === null) return 'invalid'; // Obsolete line folding, a bare CR, no colon: not a browser's.
    const name = field[1]!.toLowerCase();
    const before = headers.get(name);
    headers.set(name, before === undefined ? field[2]! : `${before}, ${field[2]}`);
  }
  return { method: line[1]!, target: line[2]!, version: line[3] === '0' ? '1.0' : '1.1', headers };
}
