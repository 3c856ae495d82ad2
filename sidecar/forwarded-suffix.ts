// The X-Forwarded-* lines appended to a request head, built once per connection (and again only when
// the Host changes): a head goes to the app as its own bytes plus these, no text rebuilt per request.
import { hostValue, type RequestHead } from './head.ts';

export class ForwardedSuffix {
  #clientAddress: string;
  /** The Host value the suffix was built for (null: no Host; undefined: none built yet). */
  #host: string | null | undefined = undefined;
  #suffix: Buffer = Buffer.alloc(0);

  constructor(clientAddress: string) {
    this.#clientAddress = clientAddress;
  }

  /**
   * The head in `bytes` [start, end) (its lines with their CRLFs, without the final empty line) with
   * X-Forwarded-For, -Proto and -Host appended and the head ended: what forwardedHead gives, as bytes.
   */
  headWith(bytes: Buffer, start: number, end: number, req: RequestHead): Buffer {
    const host = req.host >= 0 ? hostValue(req) : null;
    if (host !== this.#host) {
      this.#host = host;
      const hostLine = host === null ? '' : `X-Forwarded-Host: ${host}\r\n`;
      this.#suffix = Buffer.from(`X-Forwarded-For: ${this.#clientAddress}\r\nX-Forwarded-Proto: http\r\n${hostLine}\r\n`, 'latin1');
    }
    const suffix = this.#suffix;
    // One small allocation from Node's pool and one write: cheaper than encoding the head as text again.
    const out = Buffer.allocUnsafe(end - start + suffix.length);
    bytes.copy(out, 0, start, end);
    suffix.copy(out, end - start);
    return out;
  }
}
