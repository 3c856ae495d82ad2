import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** From the request's start to the end of its answer. */
  ms: number;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: AsyncIterable<Buffer>;
  timeoutMs?: number;
}

/** One request on a fresh connection, so every request is balanced anew by kube-proxy; rejects on a connection error. */
export function request(url: string, options: RequestOptions = {}): Promise<Reply> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), ms: Date.now() - started }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${options.method ?? 'GET'} ${url} timed out after ${timeoutMs}ms`)));
    req.on('error', reject);
    if (options.body === undefined) req.end();
    else {
      const body = options.body;
      void (async () => {
        for await (const chunk of body) req.write(chunk);
        req.end();
      })().catch((err: Error) => req.destroy(err));
    }
  });
}

/** A plain GET on a fresh connection. */
export const get = (url: string, timeoutMs = 5000): Promise<Reply> => request(url, { timeoutMs });
