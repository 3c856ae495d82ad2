// Closed-loop HTTP clients for the autoscaling e2e test and benchmark: N clients, each sending its next
// request as soon as the last one answered, on a fresh connection every time (kube-proxy balances each
// anew). Every outcome is kept, so a test can say that none failed and when each pod first answered.
import { request } from 'node:http';

export interface ClientRun {
  /** Responses by status; `error` counts connection failures and timeouts. */
  statuses: Map<number | 'error', number>;
  /** When each pod (X-Served-By) answered first, epoch ms. */
  firstServedAt: Map<string, number>;
  /** A few failure messages, for the assertion's text. */
  failures: string[];
  started: number;
  stop(): Promise<void>;
}

function once(url: string, timeoutMs: number): Promise<{ status: number; servedBy?: string } | { error: string }> {
  return new Promise((done) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => done({ status: res.statusCode ?? 0, ...(typeof res.headers['x-served-by'] === 'string' ? { servedBy: res.headers['x-served-by'] } : {}) }));
      res.on('error', (err) => done({ error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', (err) => done({ error: err.message }));
    req.end();
  });
}

export function startClients(url: string, clients: number, timeoutMs = 60_000): ClientRun {
  let stopping = false;
  const run: Omit<ClientRun, 'stop'> = { statuses: new Map(), firstServedAt: new Map(), failures: [], started: Date.now() };
  const loop = async () => {
    while (!stopping) {
      const r = await once(url, timeoutMs);
      const key = 'error' in r ? 'error' : r.status;
      run.statuses.set(key, (run.statuses.get(key) ?? 0) + 1);
      if ('error' in r || r.status !== 200) {
        if (run.failures.length < 5) run.failures.push(`${'error' in r ? r.error : `status ${r.status}`} at +${Date.now() - run.started} ms`);
      } else if (r.servedBy !== undefined && !run.firstServedAt.has(r.servedBy)) run.firstServedAt.set(r.servedBy, Date.now());
    }
  };
  const loops = Array.from({ length: clients }, loop);
  return {
    ...run,
    async stop() {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

/** Pure: total requests, and those that did not answer 200. */
export function tally(run: Pick<ClientRun, 'statuses'>): { total: number; failed: number } {
  let total = 0;
  let failed = 0;
  for (const [status, n] of run.statuses) {
    total += n;
    if (status !== 200) failed += n;
  }
  return { total, failed };
}
