// httpGet / tcpSocket / exec against a pod: shared by probes and lifecycle hooks.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import type { V1Container, V1LifecycleHandler, V1Probe } from '@kubernetes/client-node';

export interface PodTarget {
  podIP: string;
  netns: string;
  container: V1Container;
  userAgent: string;
}

export interface HandlerResult {
  ok: boolean;
  message: string;
}

type Handler = Pick<V1Probe, 'httpGet' | 'tcpSocket' | 'exec' | 'grpc'> & Pick<V1LifecycleHandler, 'sleep'>;

export function resolvePort(port: number | string | undefined, container: V1Container): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

export function runHandler(handler: Handler, target: PodTarget, timeoutMs: number): Promise<HandlerResult> {
  if (handler.httpGet) return httpGet(handler.httpGet, target, timeoutMs);
  if (handler.tcpSocket) return tcp(handler.tcpSocket.host ?? target.podIP, resolvePort(handler.tcpSocket.port as number | string, target.container), timeoutMs);
  if (handler.grpc) return tcp(target.podIP, handler.grpc.port, timeoutMs);
  if (handler.exec) return exec(handler.exec.command ?? [], target.netns, timeoutMs);
  if (handler.sleep) return new Promise((done) => setTimeout(() => done({ ok: true, message: 'slept' }), Math.min(timeoutMs, handler.sleep!.seconds * 1000)));
  return Promise.resolve({ ok: false, message: 'handler has no action' });
}

function httpGet(spec: NonNullable<Handler['httpGet']>, target: PodTarget, timeoutMs: number): Promise<HandlerResult> {
  const port = resolvePort(spec.port as number | string, target.container);
  if (port === undefined) return Promise.resolve({ ok: false, message: `port ${spec.port} is not a port of the container` });
  const headers: Record<string, string> = { 'user-agent': target.userAgent, accept: '*/*' };
  for (const h of spec.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
  const https = spec.scheme === 'HTTPS';
  return new Promise((done) => {
    const req = (https ? httpsRequest : httpRequest)(
      { host: spec.host ?? target.podIP, port, path: spec.path ?? '/', method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false, agent: false },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        done({ ok: status >= 200 && status < 400, message: `HTTP probe returned ${status}` });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs}ms`)));
    req.on('error', (err) => done({ ok: false, message: `Get "${https ? 'https' : 'http'}://${spec.host ?? target.podIP}:${port}${spec.path ?? '/'}": ${err.message}` }));
    req.end();
  });
}

function tcp(host: string, port: number | undefined, timeoutMs: number): Promise<HandlerResult> {
  if (port === undefined) return Promise.resolve({ ok: false, message: 'port is not a port of the container' });
  return new Promise((done) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => { socket.destroy(); done({ ok: true, message: 'connected' }); });
    socket.once('timeout', () => { socket.destroy(); done({ ok: false, message: `dial tcp ${host}:${port}: timeout` }); });
    socket.once('error', (err) => done({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` }));
  });
}

function exec(command: string[], netns: string, timeoutMs: number): Promise<HandlerResult> {
  if (command.length === 0) return Promise.resolve({ ok: false, message: 'exec has no command' });
  return new Promise((done) => {
    const child = spawn('ip', ['netns', 'exec', netns, ...command], { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let output = '';
    const keep = (chunk: Buffer) => { if (output.length < 1024) output += chunk.toString(); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => done({ ok: false, message: err.message }));
    child.on('close', (code, signal) => done({ ok: code === 0, message: signal ? `command timed out (${signal})` : `exit code ${code}: ${output.trim().slice(0, 200)}` }));
  });
}
