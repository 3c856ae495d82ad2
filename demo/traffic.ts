// Requests from this host to the app's Service (kube-proxy routes its ClusterIP here), timed.
import { request } from 'node:http';

export interface Answer {
  status: number;
  body: string;
  ms: number;
}

/** One GET on a fresh connection, so each request is routed anew. */
export function get(url: string, timeoutMs: number): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} got no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export interface Burst {
  count: number;
  ok: number;
  medianMs: number;
  maxMs: number;
}

/** Pure. */
export function summarize(answers: readonly Answer[]): Burst {
  const times = answers.map((a) => a.ms).sort((a, b) => a - b);
  return { count: answers.length, ok: answers.filter((a) => a.status === 200).length, medianMs: times[Math.floor(times.length / 2)] ?? 0, maxMs: times.at(-1) ?? 0 };
}

/** `count` requests one after another: gentle, like a person clicking around. */
export async function burst(url: string, count: number): Promise<Burst> {
  const answers: Answer[] = [];
  for (let i = 0; i < count; i++) answers.push(await get(url, 5000));
  return summarize(answers);
}
