// What the bench puts in front of wrk: the app (nginx returning a fixed body, the fastest backend, so
// the app is not the bottleneck) and the three proxies in front of it — nginx as a reverse proxy,
// the Lull sidecar, and Knative Serving's queue-proxy. All listen on loopback only, except
// queue-proxy, which binds every interface and cannot be told otherwise.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { start, waitForPort, withChildren, type Started } from './processes.ts';

export const HOST = '127.0.0.1';
export const NGINX = '/usr/sbin/nginx';
/** The body the app answers with: small, so the bench measures per-request cost, not bytes. */
export const APP_BODY = 'hello from the lull bench\n';

export interface Server {
  name: string;
  port: number;
  /** The processes whose CPU is this server's (an nginx master and its worker). */
  pids: () => number[];
  started: Started;
}

function nginxConf(dir: string, name: string, body: string): string {
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, `${name}-${d}`), { recursive: true });
  const file = join(dir, `${name}.conf`);
  writeFileSync(
    file,
    `worker_processes 1;
daemon off;
master_process on;
pid ${dir}/${name}.pid;
error_log ${dir}/${name}-error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 32768; }
http {
  access_log off;
  default_type text/plain;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  client_body_temp_path ${dir}/${name}-client_body;
  proxy_temp_path ${dir}/${name}-proxy;
  fastcgi_temp_path ${dir}/${name}-fastcgi;
  uwsgi_temp_path ${dir}/${name}-uwsgi;
  scgi_temp_path ${dir}/${name}-scgi;
${body}
}
`,
  );
  return file;
}

async function startNginx(dir: string, name: string, port: number, body: string, cpus: string | undefined): Promise<Server> {
  if (!existsSync(NGINX)) throw new Error(`${NGINX} is missing: run scripts/build-peers.sh (it installs nginx-light and wrk)`);
  const conf = nginxConf(dir, name, body);
  const started = start(NGINX, ['-p', dir, '-c', conf, '-e', join(dir, `${name}-error.log`)], { cpus });
  await waitForPort(port, started, name);
  return { name, port, started, pids: () => withChildren(started.pid) };
}

export function startApp(dir: string, port: number, cpus: string | undefined): Promise<Server> {
  const body = `  server {
    listen ${HOST}:${port} backlog=4096;
    location / { return 200 ${JSON.stringify(APP_BODY)}; }
  }`;
  return startNginx(dir, 'app', port, body, cpus);
}

/** nginx as a reverse proxy the usual way: one worker, keep-alive to the upstream. */
export function startNginxProxy(dir: string, port: number, appPort: number, cpus: string | undefined): Promise<Server> {
  const body = `  upstream app { server ${HOST}:${appPort}; keepalive 64; }
  server {
    listen ${HOST}:${port} backlog=4096;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`;
  return startNginx(dir, 'nginx-proxy', port, body, cpus);
}

export interface SidecarOptions {
  /** bin/lull.ts of the checkout to measure. */
  lullBin: string;
  port: number;
  adminPort: number;
  appPort: number;
  cpus: string | undefined;
  /** Where to write a CPU profile when the sidecar exits (node --cpu-prof). */
  profileDir?: string;
}

/** `lull sidecar` as the pod runs it, on the pinned Node 24 that runs this bench. */
export async function startLullSidecar(name: string, o: SidecarOptions): Promise<Server> {
  const nodeArgs = o.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`];
  const started = start(process.execPath, [...nodeArgs, o.lullBin, 'sidecar'], {
    cwd: resolve(dirname(o.lullBin), '..'),
    cpus: o.cpus,
    env: {
      ...process.env,
      LULL_LOG_LEVEL: 'warn',
      LULL_PORTS: `${o.port}=${o.appPort}`,
      LULL_ADMIN_PORT: String(o.adminPort),
      LULL_DRAIN_QUIET: '0s',
      LULL_DRAIN_MAX: '1s',
    },
  });
  await waitForPort(o.adminPort, started, name);
  // wait-ready long-polls until the sidecar has seen the app.
  const res = await fetch(`http://${HOST}:${o.adminPort}/lull/wait-ready?timeout=10s`);
  if (res.status !== 200) throw new Error(`${name} did not become ready: ${res.status} ${await res.text()}`);
  return { name, port: o.port, started, pids: () => [started.pid] };
}

export interface QueueProxyOptions {
  binary: string;
  port: number;
  tlsPort: number;
  appPort: number;
  cpus: string | undefined;
}

/** Knative's per-pod sidecar, standalone: the environment its revision controller would set. */
export async function startQueueProxy(o: QueueProxyOptions): Promise<Server> {
  if (!existsSync(o.binary)) throw new Error(`queue-proxy is not built at ${o.binary}: run scripts/build-peers.sh`);
  const started = start(o.binary, [], {
    cpus: o.cpus,
    env: {
      PATH: process.env.PATH,
      SERVING_NAMESPACE: 'bench',
      SERVING_CONFIGURATION: 'app',
      SERVING_REVISION: 'app-00001',
      SERVING_POD: 'app-00001-deployment-bench',
      SERVING_POD_IP: HOST,
      QUEUE_SERVING_PORT: String(o.port),
      QUEUE_SERVING_TLS_PORT: String(o.tlsPort),
      USER_PORT: String(o.appPort),
      CONTAINER_CONCURRENCY: '0',
      REVISION_TIMEOUT_SECONDS: '300',
      SERVING_LOGGING_CONFIG: '',
      SERVING_LOGGING_LEVEL: 'error',
    },
  });
  await waitForPort(o.port, started, 'queue-proxy');
  return { name: 'queue-proxy', port: o.port, started, pids: () => [started.pid] };
}
