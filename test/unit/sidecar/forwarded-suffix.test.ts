import { describe, expect, it } from 'vitest';
import { ForwardedSuffix } from '../../../sidecar/forwarded-suffix.ts';
import { forwardedHead, forwardsAsIs, parseRequestHead, type RequestHead } from '../../../sidecar/head.ts';

function request(text: string): RequestHead {
  const head = parseRequestHead(text);
  if ('error' in head) throw new Error(head.error);
  return head;
}

/** The head as it arrives in a chunk, with bytes before and after it. */
function sent(text: string, suffixes: ForwardedSuffix): string {
  const chunk = Buffer.from(`\r\n${text}\r\n\r\nBODY`, 'latin1');
  return suffixes.headWith(chunk, 2, 2 + text.length + 2, request(text)).toString('latin1');
}

describe('ForwardedSuffix', () => {
  it('sends the same bytes as forwardedHead, whatever the Host of each request', () => {
    const suffixes = new ForwardedSuffix('10.0.0.7');
    for (const text of [
      'GET /a HTTP/1.1\r\nHost: shop.example',
      'GET /b HTTP/1.1\r\nHost: shop.example\r\nAccept: */*',
      'GET /c HTTP/1.1\r\nHost:  other.example \r\nUser-Agent: x',
      'GET /d HTTP/1.0',
      'GET /e HTTP/1.1\r\nHost: \xe9t\xe9.example',
      'GET /f HTTP/1.1\r\nHost: shop.example',
    ]) {
      expect(sent(text, suffixes)).toBe(forwardedHead(request(text), '10.0.0.7', false));
    }
  });

  it('is used only where no X-Forwarded-* or Connection has to be rewritten', () => {
    expect(forwardsAsIs(request('GET / HTTP/1.1\r\nHost: a'), false)).toBe(true);
    expect(forwardsAsIs(request('GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4'), false)).toBe(false);
    expect(forwardsAsIs(request('GET / HTTP/1.1\r\nX-Forwarded-Proto: https'), false)).toBe(false);
    expect(forwardsAsIs(request('GET / HTTP/1.1\r\nx-forwarded-host: b'), false)).toBe(false);
    expect(forwardsAsIs(request('GET / HTTP/1.1\r\nHost: a'), true)).toBe(false);
    expect(forwardsAsIs(request('GET / HTTP/1.1\r\nHost: a\r\nConnection: close'), true)).toBe(true);
  });
});
