import { describe, expect, it } from 'vitest';
import { sniff, SNIFF_LIMIT } from '../../../core/sniff.ts';

const b = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s));

describe('sniff', () => {
  it('recognises HTTP/1.0 and 1.1 request lines', () => {
    expect(sniff(b('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toBe('http1');
    expect(sniff(b('POST /api?q=1 HTTP/1.0\r\n'))).toBe('http1');
    expect(sniff(b('OPTIONS * HTTP/1.1\r\n'))).toBe('http1');
    expect(sniff(b('PROPFIND /dav HTTP/1.1\r\n'))).toBe('http1');
  });

  it('asks for more while the bytes are a prefix of a request line', () => {
    for (const s of ['G', 'GET', 'GET ', 'GET /x', 'GET /x ', 'GET /x HTTP/1.', 'GET /x HTTP/1.1', 'GET /x HTTP/1.1\r']) {
      expect(sniff(b(s)), s).toBe('more');
    }
  });

  it('passes everything else through at layer 4', () => {
    expect(sniff(b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'))).toBe('other'); // h2c preface
    expect(sniff(b([0x16, 0x03, 0x01, 0x02, 0x00]))).toBe('other'); // TLS ClientHello
    expect(sniff(b('GET foo\r\n'))).toBe('other'); // Redis inline command
    expect(sniff(b('*2\r\n$3\r\nGET\r\n'))).toBe('other'); // RESP
    expect(sniff(b('SSH-2.0-OpenSSH_9.6\r\n'))).toBe('other');
    expect(sniff(b('SET k v\r\n'))).toBe('other'); // Redis inline with an HTTP-like start
    expect(sniff(b([0, 0, 0, 8, 4, 210, 22, 47]))).toBe('other'); // Postgres SSLRequest
  });

  it('calls near-HTTP malformed, so it is refused rather than tunnelled for the app to parse', () => {
    for (const s of [
      'GET / HTTP/1.1\n', 'GET / HTTP/1.1\nHost: x\n\n', 'GET / HTTP/2\r\n', 'GET  / HTTP/1.1\r\n', 'GET /\x00 HTTP/1.1\r\n',
      'GET / HTTP/1.1 \r\n', 'GET / HTTP/1.2\r\n', 'GET /\r\n', 'FOO /x HTTP/1.1\n', 'GET / HTTP/1.1\rX', '\nGET / HTTP/1.1\r\n',
    ]) {
      expect(sniff(b(s)), JSON.stringify(s)).toBe('malformed');
    }
    expect(sniff(b('\r\n\r\nGET / HTTP/1.1\r\n'))).toBe('http1');
  });

  it('treats a still-plausible request line past the limit as HTTP', () => {
    expect(sniff(b(`GET /${'a'.repeat(SNIFF_LIMIT)}`))).toBe('http1');
  });
});
