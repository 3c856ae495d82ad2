import { describe, expect, it } from 'vitest';
import { forwardedHead, parseRequestHead, parseResponseHead, type RequestHead } from '../../../sidecar/head.ts';

function request(text: string): RequestHead {
  const head = parseRequestHead(text);
  if ('error' in head) throw new Error(head.error);
  return head;
}

describe('parseRequestHead', () => {
  it('frames bodies by Content-Length, chunked, or none', () => {
    expect(request('GET / HTTP/1.1\r\nHost: a').framing).toEqual({ kind: 'none' });
    expect(request('POST / HTTP/1.1\r\nContent-Length: 12').framing).toEqual({ kind: 'length', length: 12 });
    expect(request('POST / HTTP/1.1\r\ncontent-length:\t0005 ').framing).toEqual({ kind: 'length', length: 5 });
    expect(request('POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked').framing).toEqual({ kind: 'chunked' });
  });

  it('refuses what could make us and the app disagree on where a request ends', () => {
    for (const text of [
      'POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked',
      'POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6',
      'POST / HTTP/1.1\r\nContent-Length: -1',
      'POST / HTTP/1.1\r\nTransfer-Encoding: gzip',
      'POST / HTTP/1.1\r\nContent-Length : 5',
      'POST / HTTP/1.1\r\n folded: line',
      'GET / HTTP/2.0',
      'GET /a b HTTP/1.1',
      // llhttp refuses these too (Node's default, non-lenient parser).
      'POST / HTTP/1.1\r\ncontent-length: 5, 5',
      'POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5',
      'POST / HTTP/1.1\r\nContent-Length: \xa05',
      'POST / HTTP/1.1\r\nContent-Length: 5\x0b',
      'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\x0b',
      'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\xa0',
      'POST / HTTP/1.1\r\nTransfer-Encoding:\tchunked',
      'POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked',
      'POST / HTTP/1.1\r\nTransfer-Encoding: chunked,',
      'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip',
      'GET / HTTP/1.1\r\nX: a\x00b',
      'GET / HTTP/1.1\r\nX: a\x7fb',
      'GET / HTTP/1.1\r\nX: a\rb',
      'GET / HTTP/1.1\nX: a',
      'GET / HTTP/1.1\r\nX: a\nY: b',
      'GET /\x80 HTTP/1.1',
      'FOO / HTTP/1.1',
      // Header names are tokens: no separators, no bytes past ASCII, not empty.
      'GET / HTTP/1.1\r\nHo\xe9t: a',
      'GET / HTTP/1.1\r\nX(y): a',
      'GET / HTTP/1.1\r\nX/y: a',
      'GET / HTTP/1.1\r\nX\u0100: a',
      'GET / HTTP/1.1\r\n: a',
      // Go ignores Transfer-Encoding on HTTP/1.0 and llhttp does not: RFC 9112 §6.1 says refuse.
      'POST / HTTP/1.0\r\nTransfer-Encoding: chunked',
    ]) {
      expect(parseRequestHead(text), text).toHaveProperty('error');
    }
  });

  it('takes every tchar in a header name', () => {
    expect(request("GET / HTTP/1.1\r\n!#$%&'*+-.^_`|~09azAZ: v\r\nHost: a").host).toBe(2);
  });

  it('reads connection semantics, upgrades and kubelet probes', () => {
    expect(request('GET / HTTP/1.1').close).toBe(false);
    expect(request('GET / HTTP/1.1\r\nConnection: close').close).toBe(true);
    expect(request('GET / HTTP/1.0').close).toBe(true);
    expect(request('GET / HTTP/1.0\r\nConnection: Keep-Alive').close).toBe(false);
    expect(request('GET /ws HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket').upgrade).toBe(true);
    expect(request('GET /ws HTTP/1.1\r\nUpgrade: websocket').upgrade).toBe(false);
    expect(request('CONNECT a:443 HTTP/1.1').upgrade).toBe(true);
    expect(request('GET /healthz HTTP/1.1\r\nUser-Agent: kube-probe/1.31').probe).toBe(true);
    expect(request('GET / HTTP/1.1\r\nUser-Agent: curl/8').probe).toBe(false);
  });
});

describe('forwardedHead', () => {
  it('appends X-Forwarded-For and adds -Proto and -Host when absent', () => {
    const out = forwardedHead(request('GET /a HTTP/1.1\r\nHost: shop.example'), '10.0.0.7', false);
    expect(out).toBe('GET /a HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 10.0.0.7\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: shop.example\r\n\r\n');
  });

  it('keeps what an earlier proxy recorded', () => {
    const out = forwardedHead(
      request('GET / HTTP/1.1\r\nHost: svc\r\nx-forwarded-for: 1.2.3.4\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: public.example'),
      '10.0.0.7',
      false,
    );
    expect(out).toContain('x-forwarded-for: 1.2.3.4, 10.0.0.7\r\n');
    expect(out).toContain('X-Forwarded-Proto: https\r\n');
    expect(out).not.toContain('X-Forwarded-Proto: http\r\n');
    expect(out).toContain('X-Forwarded-Host: public.example\r\n');
    expect(out.match(/x-forwarded-host/gi)).toHaveLength(1);
  });

  it('asks the app to close while draining, except for upgrades', () => {
    const head = request('GET / HTTP/1.1\r\nConnection: keep-alive');
    expect(forwardedHead(head, '1.1.1.1', true)).toContain('\r\nConnection: close\r\n');
    expect(head.close).toBe(true);
    expect(forwardedHead(request('GET / HTTP/1.1'), '1.1.1.1', true)).toContain('\r\nConnection: close\r\n');
    const ws = forwardedHead(request('GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket'), '1.1.1.1', true);
    expect(ws).toContain('Connection: Upgrade\r\n');
  });
});

describe('parseResponseHead', () => {
  const res = (text: string, method = 'GET') => {
    const head = parseResponseHead(text, method);
    if ('error' in head) throw new Error(head.error);
    return head;
  };

  it('frames response bodies (RFC 9112 §6.3)', () => {
    expect(res('HTTP/1.1 200 OK\r\nContent-Length: 3').framing).toEqual({ kind: 'length', length: 3 });
    expect(res('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked').framing).toEqual({ kind: 'chunked' });
    expect(res('HTTP/1.1 200 OK').framing).toEqual({ kind: 'close' });
    expect(res('HTTP/1.1 200 OK').close).toBe(true);
    expect(res('HTTP/1.1 200 OK\r\nContent-Length: 3', 'HEAD').framing).toEqual({ kind: 'none' });
    expect(res('HTTP/1.1 204 No Content').framing).toEqual({ kind: 'none' });
    expect(res('HTTP/1.1 304 Not Modified\r\nContent-Length: 10').framing).toEqual({ kind: 'none' });
    expect(res('HTTP/1.1 100 Continue').framing).toEqual({ kind: 'none' });
    expect(res('HTTP/1.1 200 Connection established', 'CONNECT').framing).toEqual({ kind: 'none' });
  });

  it('reads connection reuse and the keep-alive hint', () => {
    const h = res('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5');
    expect(h.close).toBe(false);
    expect(h.keepAliveMs).toBe(5000);
    expect(res('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close').close).toBe(true);
    expect(res('HTTP/1.0 200 OK\r\nContent-Length: 0').close).toBe(true);
    expect(parseResponseHead('HTTP/1.1 OK', 'GET')).toHaveProperty('error');
  });
});
