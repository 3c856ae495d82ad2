// The response follower: reads the app's bytes for one connection and relays to the client only what
// it has framed (heads parsed, bodies delimited as llhttp would). Bytes of a chunk are written in one
// piece once checked; nothing past a response's end, and nothing of a response llhttp would refuse,
// ever reaches the client.
import { performance } from 'node:perf_hooks';
import { BodyFramer } from './body.ts';
import type { Exchange } from './exchanges.ts';
import { parseResponseHead } from './head.ts';
import { HEAD_BROKEN_LINE, HEAD_INCOMPLETE, HEAD_TOO_LARGE, HeadReader, MAX_HEAD } from './head-reader.ts';

const now = (): number => performance.now();
const HELD_OR_BROKEN = -1;
const SWITCHED = -2;

/** What the follower needs from its connection, and tells it. */
export interface ResponseSink {
  /** The exchange the app answers now; undefined when none is pending. */
  answering(): Exchange | undefined;
  /** The client waits for the answer to its upgrade request before sending more. */
  awaitingUpgrade(): boolean;
  /** False once the client connection is closed or handed to a tunnel. */
  open(): boolean;
  write(data: Buffer | string): void;
  /** A whole response was relayed. */
  ended(): void;
  /** The response cannot be followed; `started`: some of it already reached the client. */
  broken(reason: string, started: boolean): void;
  /** Bytes with no request to answer: the app is out of step. */
  unsolicited(): void;
  /** 101 (or 2xx to CONNECT) relayed with everything after it: the connection becomes a tunnel. */
  switched(exchange: Exchange): void;
  /** An upgrade request was answered without switching: the connection stays HTTP. */
  declined(): void;
}

export class ResponseFollower {
  /** Status of the current (or last) final response. */
  status = 0;
  /** The app closes after the current (or last) response. */
  close = false;
  /** The app's `Keep-Alive: timeout` hint of the last response, in ms (0: none). */
  keepAliveMs = 0;
  /** Bytes of the current response reached the client: past this, no retry and no 502. */
  started = false;
  #head = new HeadReader();
  /** The body under way (#framer, reused), or null between responses. */
  #body: BodyFramer | null = null;
  /** Made at the first response. */
  #framer: BodyFramer | null = null;
  #sink: ResponseSink;

  constructor(sink: ResponseSink) {
    this.#sink = sink;
  }

  /** Part of a response head is held (nothing of it relayed yet). */
  get headHeld(): boolean {
    return this.#head.held !== '';
  }

  /** Between a response head and the end of its body. */
  get inBody(): boolean {
    return this.#body !== null;
  }

  /** Mid-response in any way. */
  get busy(): boolean {
    return this.started || this.#head.held !== '' || this.#body !== null;
  }

  /** The app closed: a body delimited by the connection's end has ended (true), else it was cut. */
  closedByApp(): boolean {
    if (this.#body === null || !this.#body.untilClose) return false;
    this.#finish();
    return true;
  }

  /** Forgets the response under way (its connection is gone). */
  reset(): void {
    this.#head.clear();
    this.#body = null;
    this.started = false;
  }

  follow(chunk: Buffer): void {
    // [from, i) is checked and not yet written: it goes out in one piece before anything can end.
    const sink = this.#sink;
    let i = 0;
    let from = 0;
    const n = chunk.length;
    while (i < n && sink.open()) {
      const body = this.#body;
      if (body !== null) {
        const end = body.consume(chunk, i);
        if (body.error !== undefined) {
          this.#relay(chunk, from, end);
          return this.#broken(body.error);
        }
        i = end;
        if (body.done) {
          this.#relay(chunk, from, i);
          from = i;
          this.#finish();
        }
        continue;
      }
      const exchange = sink.answering();
      if (exchange === undefined) {
        this.#relay(chunk, from, i);
        return sink.unsolicited();
      }
      const held = this.#head.held;
      const next = this.#readHead(chunk, i, exchange);
      if (next === HELD_OR_BROKEN) {
        this.#relay(chunk, from, i);
        return;
      }
      // A head that arrived in pieces: its earlier pieces go out first.
      if (held !== '') {
        this.#relay(chunk, from, i);
        from = i;
        sink.write(held);
      }
      if (next === SWITCHED) {
        this.#relay(chunk, from, n);
        return sink.switched(exchange);
      }
      i = next;
      if (this.#body?.done === true) {
        this.#relay(chunk, from, i);
        from = i;
        this.#finish();
      }
    }
    if (sink.open()) this.#relay(chunk, from, i);
  }

  #relay(chunk: Buffer, from: number, to: number): void {
    if (to > from && this.#sink.open()) this.#sink.write(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to));
  }

  #finish(): void {
    this.#body = null;
    this.started = false;
    this.#sink.ended();
  }

  #broken(reason: string): void {
    const started = this.started;
    this.reset();
    this.#sink.broken(reason, started);
  }

  /** Reads a response head from `start`: the index past it, SWITCHED, or HELD_OR_BROKEN (held, or broken and reported). */
  #readHead(chunk: Buffer, start: number, exchange: Exchange): number {
    const consumed = this.#head.read(chunk, start, now);
    if (consumed === HEAD_INCOMPLETE) return HELD_OR_BROKEN;
    if (consumed === HEAD_TOO_LARGE) return this.#brokenAt(`the response head is larger than ${MAX_HEAD} bytes`);
    if (consumed === HEAD_BROKEN_LINE) return this.#brokenAt('a line ends with a bare LF, or a CR is not followed by LF');
    const head = parseResponseHead(this.#head.head, exchange.method);
    if ('error' in head) return this.#brokenAt(head.error);
    const awaitingUpgrade = this.#sink.awaitingUpgrade();
    const switches = head.status === 101 || (exchange.method === 'CONNECT' && head.status >= 200 && head.status < 300);
    if (switches && exchange.upgrade && (head.status !== 101 || awaitingUpgrade)) {
      this.started = true;
      this.status = head.status;
      return SWITCHED;
    }
    // A switch nobody asked for: what follows is not HTTP we can follow.
    if (head.status === 101) return this.#brokenAt('101 Switching Protocols to a request that did not ask to upgrade');
    // An interim answer that says the app closes: llhttp reads nothing after it, so neither may we.
    if (head.status < 200 && head.close) return this.#brokenAt('an interim (1xx) response that closes the connection');
    this.started = true;
    if (head.status < 200) return consumed; // 100 Continue, 103 Early Hints: the final answer follows.
    this.close = head.close;
    this.keepAliveMs = head.keepAliveMs;
    this.status = head.status;
    this.#body = this.#framer === null ? (this.#framer = new BodyFramer(head.framing)) : this.#framer.reset(head.framing);
    if (exchange.upgrade && awaitingUpgrade) this.#sink.declined();
    return consumed;
  }

  #brokenAt(reason: string): number {
    this.#broken(reason);
    return HELD_OR_BROKEN;
  }
}
