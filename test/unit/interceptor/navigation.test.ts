// Which held requests get the waiting page: a browser opening the app, told apart from API clients,
// scripts' fetches, sub-resources and WebSockets by the method, Accept's weights and fetch metadata.
import { describe, expect, it } from 'vitest';
import { classify, parseAccept, prefersHtml } from '../../../interceptor/navigation.ts';
import { HEAD_LIMIT, parseRequestHead, type RequestHead } from '../../../interceptor/request-head.ts';

const CHROME_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';
const FIREFOX_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

function head(lines: string[], requestLine = 'GET / HTTP/1.1'): RequestHead {
  const parsed = parseRequestHead(Buffer.from(`${requestLine}\r\nHost: app.example\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`));
  if (typeof parsed === 'string') throw new Error(`not a head: ${parsed}`);
  return parsed;
}

describe('Accept: does the client prefer HTML?', () => {
  it.each([
    [CHROME_ACCEPT, true],
    [FIREFOX_ACCEPT, true],
    ['text/html', true],
    ['TEXT/HTML', true],
    ['text/*', true],
    ['text/html;q=0.8, application/json;q=0.8', true],
    ['*/*', false], // curl, fetch's default, most libraries
    ['application/json', false],
    ['application/json, text/plain, */*', false], // axios
    ['application/json, text/html;q=0.9', false],
    ['text/html;q=0', false],
    ['text/plain, text/html;q=0.5', false],
    ['text/html;level=1;q=0.5, image/png;q=0.6', false],
    ['text/html;q=abc', false], // a malformed weight drops the member
    ['text/html;q=1.5', false],
    ['', false],
  ])('%j → %s', (accept, expected) => {
    expect(prefersHtml(accept)).toBe(expected);
  });

  it('reads weights to three decimals and takes the most specific match', () => {
    expect(parseAccept('text/html;q=0.123, */*;q=0.1')).toEqual([
      { type: 'text', subtype: 'html', q: 0.123 },
      { type: '*', subtype: '*', q: 0.1 },
    ]);
    expect(prefersHtml('text/*;q=0.1, text/html;q=0.9, application/json;q=0.5')).toBe(true);
    expect(prefersHtml('text/*;q=0.9, text/html;q=0.1, application/json;q=0.5')).toBe(false);
    expect(prefersHtml(undefined)).toBe(false);
  });
});

describe('classify: navigation, the page\'s poll, or anything else', () => {
  it('takes a browser navigation, with or without fetch metadata (older browsers send none)', () => {
    expect(classify(head([`Accept: ${CHROME_ACCEPT}`, 'Sec-Fetch-Mode: navigate', 'Sec-Fetch-Dest: document', 'Sec-Fetch-Site: none', 'Upgrade-Insecure-Requests: 1']))).toBe('navigation');
    expect(classify(head([`Accept: ${FIREFOX_ACCEPT}`]))).toBe('navigation');
    expect(classify(head([`Accept: ${FIREFOX_ACCEPT}`], 'HEAD /docs?x=1 HTTP/1.0'))).toBe('navigation');
  });

  it("leaves scripts' fetches, XHRs, sub-resources and frames to be held", () => {
    expect(classify(head([`Accept: ${CHROME_ACCEPT}`, 'Sec-Fetch-Mode: cors', 'Sec-Fetch-Dest: empty']))).toBe('other');
    expect(classify(head([`Accept: ${CHROME_ACCEPT}`, 'Sec-Fetch-Mode: navigate', 'Sec-Fetch-Dest: iframe']))).toBe('other');
    expect(classify(head([`Accept: ${CHROME_ACCEPT}`, 'Sec-Fetch-Dest: script']))).toBe('other');
    expect(classify(head(['Accept: text/html, */*; q=0.01', 'X-Requested-With: XMLHttpRequest']))).toBe('other');
  });

  it('leaves API clients, other methods and WebSockets to be held', () => {
    expect(classify(head(['Accept: application/json']))).toBe('other');
    expect(classify(head(['Accept: */*', 'User-Agent: curl/8.5.0']))).toBe('other');
    expect(classify(head([]))).toBe('other');
    expect(classify(head([`Accept: ${CHROME_ACCEPT}`], 'POST /form HTTP/1.1'))).toBe('other');
    expect(classify(head([`Accept: ${CHROME_ACCEPT}`, 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13']))).toBe('other');
    expect(classify(head([`Accept: ${CHROME_ACCEPT}`, 'Connection: keep-alive, Upgrade']))).toBe('other');
  });

  it("recognises the page's own long poll, whatever its query, and only with GET", () => {
    expect(classify(head(['Accept: application/json', 'Sec-Fetch-Mode: cors'], 'GET /.lull/wait?t=123 HTTP/1.1'))).toBe('wait-poll');
    expect(classify(head(['Accept: */*'], 'GET /.lull/wait HTTP/1.1'))).toBe('wait-poll');
    expect(classify(head(['Accept: */*'], 'POST /.lull/wait HTTP/1.1'))).toBe('other');
    expect(classify(head(['Accept: */*'], 'GET /.lull/waiting HTTP/1.1'))).toBe('other');
  });
});

describe('parseRequestHead', () => {
  it('waits for the whole head, joins repeated fields and lower-cases names', () => {
    expect(parseRequestHead(Buffer.from('GET / HTTP/1.1\r\nAccept: text/html\r\n'))).toBe('more');
    const parsed = parseRequestHead(Buffer.from('GET /a HTTP/1.0\r\nACCEPT: text/html\r\naccept:  */*;q=0.1 \r\n\r\nbody'));
    expect(parsed).toEqual({ method: 'GET', target: '/a', version: '1.0', headers: new Map([['accept', 'text/html, */*;q=0.1']]) });
  });

  it('gives up on what no browser sends: folded lines, bare fields, oversized heads', () => {
    expect(parseRequestHead(Buffer.from('GET / HTTP/1.1\r\nAccept: text/html\r\n  folded\r\n\r\n'))).toBe('invalid');
    expect(parseRequestHead(Buffer.from('GET / HTTP/1.1\r\nnocolon\r\n\r\n'))).toBe('invalid');
    expect(parseRequestHead(Buffer.from('GET / HTTP/2.0\r\n\r\n'))).toBe('invalid');
    expect(parseRequestHead(Buffer.from(`GET / HTTP/1.1\r\nX: ${'a'.repeat(HEAD_LIMIT)}`))).toBe('invalid');
  });
});
