// Added latency that the machine's noise cannot tell apart: one keep-alive connection per variant and
// requests alternated across them one at a time, so a burst of other work delays each variant alike.
// wrk's one-connection runs are seconds apart, and on a shared machine their p99s differ by more than
// any proxy adds.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { HOST } from './servers.ts';

const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: bench\r\n\r\n');

export interface Percentiles {
  p50Us: number;
  p99Us: number;
  count: number;
}

/** A keep-alive connection that times one request at a time; answers are counted by their fixed length. */
class Timed {
  #socket: Socket;
  #length = 0;
  #received = 0;
  #text = '';
  #done: (() => void) | null = null;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
  }

  #onData(chunk: Buffer): void {
    if (this.#length === 0) {
      // The first answer: learn its length from its head (the proxies add headers of their own).
      this.#text += chunk.toString('latin1');
      const headEnd = this.#text.indexOf('\r\n\r\n');
      const m = /content-length: *(\d+)/i.exec(this.#text);
      if (headEnd < 0 || m === null || this.#text.length < headEnd + 4 + Number(m[1])) return;
      this.#length = this.#text.length;
      this.#received = this.#length;
    } else {
      this.#received += chunk.length;
    }
    if (this.#received >= this.#length) {
      this.#received -= this.#length;
      const done = this.#done!;
      this.#done = null;
      done();
    }
  }

  /** Microseconds from write to the whole answer. */
  async request(): Promise<number> {
    const t0 = performance.now();
    const answered = new Promise<void>((resolve) => (this.#done = resolve));
    this.#socket.write(REQUEST);
    await answered;
    return (performance.now() - t0) * 1000;
  }

  close(): void {
    this.#socket.destroy();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Alternates single requests across `ports` for `seconds`; p50/p99 per port, in the order given. */
export async function pairedLatency(ports: number[], seconds: number): Promise<Percentiles[]> {
  const conns: Timed[] = [];
  for (const port of ports) {
    const socket = connect({ host: HOST, port, noDelay: true });
    await once(socket, 'connect');
    const conn = new Timed(socket);
    await conn.request(); // Learns the answer's length; not timed.
    conns.push(conn);
  }
  const samples: number[][] = ports.map(() => []);
  const end = performance.now() + seconds * 1000;
  try {
    for (let turn = 0; performance.now() < end; turn++) {
      for (let i = 0; i < conns.length; i++) {
        const k = (i + turn) % conns.length; // Rotate who goes first, so no variant always follows the same one.
        samples[k]!.push(await conns[k]!.request());
      }
    }
  } finally {
    for (const c of conns) c.close();
  }
  return samples.map((s) => {
    s.sort((a, b) => a - b);
    return { p50Us: percentile(s, 50), p99Us: percentile(s, 99), count: s.length };
  });
}
