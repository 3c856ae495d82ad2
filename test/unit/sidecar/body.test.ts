import { describe, expect, it } from 'vitest';
import { BodyFramer } from '../../../sidecar/body.ts';

/** Feeds `bytes` in pieces of `step` and returns where the body ended in the whole stream. */
function endOf(framer: BodyFramer, bytes: Buffer, step: number): number {
  for (let offset = 0; offset < bytes.length; offset += step) {
    const piece = bytes.subarray(offset, offset + step);
    const end = framer.consume(piece, 0);
    if (framer.error !== undefined) throw new Error(framer.error);
    if (framer.done) return offset + end;
  }
  return -1;
}

describe('BodyFramer', () => {
  it('counts a fixed length', () => {
    const f = new BodyFramer({ kind: 'length', length: 5 });
    expect(f.consume(Buffer.from('abcdefg'), 1)).toBe(6);
    expect(f.done).toBe(true);
    expect(new BodyFramer({ kind: 'length', length: 0 }).done).toBe(true);
    expect(new BodyFramer({ kind: 'none' }).done).toBe(true);
  });

  it('finds the end of a chunked body however it is split, extensions and trailers included', () => {
    const body = '5;name=v\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-checksum: 1\r\nx-other: 2\r\n\r\n';
    const next = 'GET /next HTTP/1.1\r\n\r\n';
    const bytes = Buffer.from(body + next);
    for (const step of [1, 2, 3, 7, 16, bytes.length]) {
      expect(endOf(new BodyFramer({ kind: 'chunked' }), bytes, step), `step ${step}`).toBe(body.length);
    }
  });

  it('frames the next body afresh once reset, whatever state the last one left', () => {
    const body = '5;name=v\r\nhello\r\n0\r\nx-checksum: 1\r\n\r\n';
    const bytes = Buffer.from(`${body}GET /next HTTP/1.1\r\n\r\n`);
    const f = new BodyFramer({ kind: 'chunked' });
    f.consume(Buffer.from('5;na'), 0); // mid-extension
    expect(endOf(f.reset({ kind: 'chunked' }), bytes, 3)).toBe(body.length);
    f.consume(Buffer.from('0\r\nx-check'), 0); // mid-trailer
    expect(endOf(f.reset({ kind: 'chunked' }), bytes, 1)).toBe(body.length);
    f.reset({ kind: 'chunked' }).consume(Buffer.from('x\r\n'), 0);
    expect(f.error).toBeDefined();
    expect(endOf(f.reset({ kind: 'length', length: 4 }), bytes, 2)).toBe(4);
    expect(f.reset({ kind: 'close' }).untilClose).toBe(true);
    expect(f.reset({ kind: 'none' })).toMatchObject({ done: true, untilClose: false, error: undefined });
  });

  it('rejects broken chunked framing', () => {
    for (const text of ['x\r\n', '5\r\nhelloX\r\n', '5\nhello\r\n', '1234567890abcdef\r\n']) {
      const f = new BodyFramer({ kind: 'chunked' });
      f.consume(Buffer.from(text), 0);
      expect(f.error, text).toBeDefined();
    }
  });

  it('runs to the end of the connection when delimited by close', () => {
    const f = new BodyFramer({ kind: 'close' });
    expect(f.consume(Buffer.from('abc'), 0)).toBe(3);
    expect(f.done).toBe(false);
    expect(f.untilClose).toBe(true);
  });
});
