// Finds a message head (up to the empty line) in a byte stream that may split it anywhere. The common
// case, a whole head in one chunk, costs one search and one string; a head in pieces is held as text.
// A bare LF or a lone CR is refused as soon as it arrives, not when the head limit is reached.

/** Longest request or response head accepted (Node's default is 16 KiB). */
export const MAX_HEAD = 64 * 1024;

const CRLF2 = '\r\n\r\n';
/** A bare LF, or a CR followed by anything but LF (a CR last in the text may still get its LF). */
const BROKEN_LINE_END = /(?<!\r)\n|\r(?=[^\n])/;

export const HEAD_INCOMPLETE = -1;
export const HEAD_TOO_LARGE = -2;
export const HEAD_BROKEN_LINE = -3;

export class HeadReader {
  /** The head found by the last read(), without its final CRLFCRLF. */
  head = '';
  /** The part of a head held from earlier chunks ('' when none). */
  held = '';
  /** performance.now() when the head started arriving (set by the caller when sniffing saw its start); 0 when none is under way. */
  since = 0;

  /**
   * Reads from `start`: returns the index just past the head (then `head` is set), or HEAD_INCOMPLETE
   * (the bytes are held), HEAD_TOO_LARGE or HEAD_BROKEN_LINE.
   */
  read(chunk: Buffer, start: number, now: () => number): number {
    const n = chunk.length;
    const seen = this.held.length;
    if (seen === 0) {
      const end = chunk.indexOf(CRLF2, start, 'latin1');
      if (end >= 0 && end - start <= MAX_HEAD) {
        this.head = chunk.toString('latin1', start, end);
        this.since = 0;
        return end + 4;
      }
    }
    const text = this.held + chunk.toString('latin1', start, Math.min(n, start + MAX_HEAD + 4));
    const end = text.indexOf(CRLF2, Math.max(0, seen - 3));
    if (end < 0) {
      if (text.length > MAX_HEAD) return this.#fail(HEAD_TOO_LARGE);
      if (BROKEN_LINE_END.test(text)) return this.#fail(HEAD_BROKEN_LINE);
      this.held = text;
      if (this.since === 0) this.since = now();
      return HEAD_INCOMPLETE;
    }
    this.clear();
    if (end > MAX_HEAD) return HEAD_TOO_LARGE;
    this.head = text.slice(0, end);
    return start + end + 4 - seen;
  }

  clear(): void {
    this.held = '';
    this.since = 0;
  }

  #fail(code: number): number {
    this.clear();
    return code;
  }
}
