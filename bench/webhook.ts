// Admission webhook cost, as ratios against an allowed no-op review measured in the same run:
//   1. AdmissionReviews per second and latency p50/p99 with 100 requests always in flight (closed loop);
//   2. latency p50/p99 at a fixed rate over the same 100 connections (open loop, each request timed
//      from when it was sent, in microseconds): what the apiserver sees below saturation. With 100
//      always in flight on one event loop, latency is 100 / throughput (Little's law), so (1) measures
//      capacity and (2) measures the time an admission costs the apiserver.
// The webhook runs as a child process (the real server, TLS and handlers, with informer caches filled
// in memory); the load comes from this process over keep-alive HTTPS. Figures are medians over rounds.
//   node bench/webhook.ts [--rounds 3] [--duration 5] [--connections 100] [--rate 1000] [--port 19443]
//   node bench/webhook.ts --handlers      CPU per review in the handlers alone
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { Pool } from 'undici';
import { createCA, issueCert } from '../core/certs.ts';
import { createLogger } from '../core/log.ts';
import { backendOf } from '../webhook/backends.ts';
import { deploymentPatch } from '../webhook/deployment-patch.ts';
import type { AdmissionContext } from '../webhook/admission-context.ts';
import { readReview, reviewOf, type AdmissionRequest } from '../webhook/admission-review.ts';
import { createMetrics } from '../webhook/metrics.ts';
import { mutate } from '../webhook/mutate.ts';
import { validate } from '../webhook/validate.ts';
import { buildServer } from '../webhook/server.ts';
import jsonpatch from 'fast-json-patch';

const HOST = '127.0.0.1';
const GOAL_P99_MS = 5;
const INJECT = { image: 'ghcr.io/lull-dev/lull:0.1.0', version: '0.1.0' };

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '100' },
    rate: { type: 'string', default: '1000' },
    port: { type: 'string', default: '19443' },
    serve: { type: 'boolean', default: false },
    handlers: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(args.rounds);
const DURATION_S = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const PORT = Number(args.port);
const RATE = Number(args.rate);

// ---- what the apiserver sends: a realistic Deployment, with managedFields and last-applied ----

function appDeployment(name: string, namespace: string): V1Deployment {
  const spec = {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name, tier: 'web', 'app.kubernetes.io/version': '2.4.1' } },
      spec: {
        terminationGracePeriodSeconds: 30,
        containers: [
          {
            name: 'api',
            image: `ghcr.io/acme/${name}:2.4.1`,
            ports: [
              { name: 'http', containerPort: 8080, protocol: 'TCP' },
              { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
            ],
            env: Array.from({ length: 8 }, (_, i) => ({ name: `SETTING_${i}`, value: `value-${i}-${'x'.repeat(24)}` })),
            readinessProbe: { httpGet: { path: '/ready', port: 'http', scheme: 'HTTP' }, periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
            livenessProbe: { httpGet: { path: '/live', port: 'http', scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
            resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
            terminationMessagePath: '/dev/termination-log',
            terminationMessagePolicy: 'File',
            imagePullPolicy: 'IfNotPresent',
          },
        ],
        restartPolicy: 'Always',
        dnsPolicy: 'ClusterFirst',
        schedulerName: 'default-scheduler',
        securityContext: {},
      },
    },
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace,
      uid: '6c0b1f6e-3a51-4a8e-9c5e-2f0d1c3b4a59',
      resourceVersion: '184467',
      generation: 4,
      labels: { app: name },
      annotations: {
        'deployment.kubernetes.io/revision': '4',
        'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace }, spec }),
      },
      managedFields: [
        { manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"api"}': { '.': {}, 'f:image': {}, 'f:ports': {}, 'f:env': {} } } } } } } },
        { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'apps/v1', subresource: 'status', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:availableReplicas': {}, 'f:conditions': {}, 'f:observedGeneration': {} } } },
      ],
    } as V1Deployment['metadata'],
    spec: spec as V1Deployment['spec'],
    status: { observedGeneration: 4, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 },
  };
}

function review(path: '/mutate' | '/validate', kind: { group: string; version: string; kind: string }, resource: string, object: object, oldObject: object | null) {
  const meta = (object as { metadata: { name: string; namespace: string } }).metadata;
  const body = JSON.stringify({
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: '2d4a6b30-7c1e-4f4c-9d87-0f2f1b6f6a11',
      kind,
      resource: { group: kind.group, version: kind.version, resource },
      requestKind: kind,
      requestResource: { group: kind.group, version: kind.version, resource },
      name: meta.name,
      namespace: meta.namespace,
      operation: oldObject ? 'UPDATE' : 'CREATE',
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
      object,
      oldObject,
      dryRun: false,
      options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-client-side-apply' },
    },
  });
  return { path, body };
}

const DEPLOYMENT = { group: 'apps', version: 'v1', kind: 'Deployment' };
const SERVICE = { group: '', version: 'v1', kind: 'Service' };

function injected(d: V1Deployment): V1Deployment {
  const withAnnotation = structuredClone(d);
  withAnnotation.metadata!.annotations!['lull.dev/enabled'] = 'true';
  return jsonpatch.applyPatch(withAnnotation, deploymentPatch(withAnnotation, 'inject', INJECT), true, false).newDocument;
}

/** The namespace the Service scenario routes in: 200 Deployments, one of them selected. */
function shopDeployments(): V1Deployment[] {
  return Array.from({ length: 200 }, (_, i) => injected(appDeployment(i === 0 ? 'web' : `app-${i}`, 'shop')));
}

function scenarios() {
  const plain = appDeployment('web', 'shop');
  const optIn = structuredClone(plain);
  optIn.metadata!.annotations!['lull.dev/enabled'] = 'true';
  const stored = injected(plain);
  const bad = structuredClone(plain);
  bad.metadata!.annotations!['lull.dev/idle-after'] = '5 minutes';
  const system = appDeployment('coredns', 'kube-system');
  const svc: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', resourceVersion: '1200' },
    spec: { type: 'ClusterIP', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
  };
  return {
    'no-op (allowed untouched)': review('/mutate', DEPLOYMENT, 'deployments', system, system),
    'inject (opt-in update)': review('/mutate', DEPLOYMENT, 'deployments', optIn, plain),
    're-admit injected (no change)': review('/mutate', DEPLOYMENT, 'deployments', stored, stored),
    'route Service (200 Deployments)': review('/mutate', SERVICE, 'services', svc, null),
    'refuse bad annotation': review('/validate', DEPLOYMENT, 'deployments', bad, plain),
  };
}

// ---- the webhook, as a child process ----

function context(): AdmissionContext {
  const backends = shopDeployments().map(backendOf);
  return {
    ownNamespace: 'lull-system',
    inject: INJECT,
    namespaceLabels: (name) => ({ 'kubernetes.io/metadata.name': name }),
    backends: (ns) => (ns === 'shop' ? backends : []),
  };
}

/** --handlers: CPU per review in the handlers alone (parse, decide, answer), no transport. */
function handlers(): void {
  const ctx = context();
  for (const [name, req] of Object.entries(scenarios())) {
    const handle = req.path === '/mutate' ? mutate : validate;
    const once = () => JSON.stringify(reviewOf(handle(readReview(JSON.parse(req.body)) as AdmissionRequest, ctx)));
    for (let i = 0; i < 2000; i++) once();
    const n = 20_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) once();
    const us = ((performance.now() - t0) * 1000) / n;
    process.stdout.write(`${name.padEnd(32)} ${us.toFixed(1).padStart(7)} µs per review (${req.body.length} bytes)\n`);
  }
}

async function serve(): Promise<void> {
  const server = buildServer({
    context: context(),
    metrics: createMetrics(),
    logger: createLogger('webhook', 'warn'),
    tls: { keyPem: process.env.BENCH_KEY!, certPem: process.env.BENCH_CERT! },
    ready: () => true,
  });
  await server.app.listen({ host: HOST, port: PORT });
  process.stdout.write('listening\n');
}

async function startWebhook(keyPem: string, certPem: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [import.meta.filename, '--serve', '--port', String(PORT)], {
    env: { ...process.env, BENCH_KEY: keyPem, BENCH_CERT: certPem, LULL_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((ok, fail) => {
    child.stdout!.once('data', () => ok());
    child.once('exit', (code) => fail(new Error(`webhook exited with ${code}`)));
  });
  return child;
}

// ---- load ----

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Run {
  rps: number;
  p50Us: number;
  p99Us: number;
  errors: number;
}

/** One pool for the whole run, its connections opened by the warm-up and kept: TLS handshakes are not what is measured. */
function pool(ca: string): Pool {
  return new Pool(`https://${HOST}:${PORT}`, { connections: CONNECTIONS, pipelining: 1, connect: { ca }, keepAliveTimeout: 600_000, keepAliveMaxTimeout: 600_000 });
}

async function send(p: Pool, req: { path: string; body: string }): Promise<boolean> {
  const res = await p.request({ path: req.path, method: 'POST', body: req.body, headers: { 'content-type': 'application/json' } });
  await res.body.dump();
  return res.statusCode === 200;
}

/** Closed loop: `CONNECTIONS` requests always in flight for `seconds`. */
async function closedLoop(p: Pool, req: { path: string; body: string }, seconds: number): Promise<Run> {
  const samples: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const ok = await send(p, req).catch(() => false);
        samples.push((performance.now() - t0) * 1000);
        if (!ok) errors++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const sorted = Float64Array.from(samples).sort();
  return { rps: samples.length / elapsed, p50Us: percentile(sorted, 50), p99Us: percentile(sorted, 99), errors };
}

/**
 * Open loop: requests go out on schedule whether or not earlier ones were answered, so a slow answer
 * cannot hold the next one back; each is timed from when it was sent. The schedule sleeps on timers
 * between sends: a busy loop (setImmediate) would take the load generator's own core and add
 * milliseconds to every answer it waits for.
 */
async function fixedRate(p: Pool, req: { path: string; body: string }, rate: number, seconds: number): Promise<Run> {
  const total = Math.round(rate * seconds);
  const samples = new Float64Array(total);
  let sent = 0;
  let done = 0;
  let errors = 0;
  const start = performance.now();
  await new Promise<void>((finish) => {
    const fire = () => {
      const t0 = performance.now();
      send(p, req)
        .catch(() => false)
        .then((ok) => {
          if (!ok) errors++;
          samples[done++] = (performance.now() - t0) * 1000;
          if (done === total) finish();
        });
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
      while (sent < due) {
        sent++;
        fire();
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + (sent * 1000) / rate - performance.now()));
    };
    tick();
  });
  const elapsed = (performance.now() - start) / 1000;
  samples.sort();
  return { rps: total / elapsed, p50Us: percentile(samples, 50), p99Us: percentile(samples, 99), errors };
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);
const ms = (us: number) => fmt(us / 1000, 2);

async function main(): Promise<void> {
  const ca = createCA('lull-bench-ca', 1);
  const cert = issueCert(ca, { commonName: HOST, ipAddresses: [HOST], usage: 'server', validDays: 1 });
  const webhook = await startWebhook(cert.keyPem, cert.certPem);
  const cases = Object.entries(scenarios());
  const p = pool(ca.certPem);
  try {
    process.stdout.write(`webhook benchmark: ${ROUNDS} rounds, ${DURATION_S}s runs, ${CONNECTIONS} concurrent requests, ${availableParallelism()} cores\n`);
    for (const [, req] of cases) await closedLoop(p, req, 1); // warm-up: JIT, and all connections opened

    const closed = new Map<string, Run[]>(cases.map(([name]) => [name, []]));
    const open = new Map<string, Run[]>(cases.map(([name]) => [name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, req] of cases) {
        const run = await closedLoop(p, req, DURATION_S);
        closed.get(name)!.push(run);
        process.stdout.write(`  round ${r + 1} ${name.padEnd(32)} ${fmt(run.rps, 0).padStart(6)} reviews/s  p50 ${ms(run.p50Us)} ms  p99 ${ms(run.p99Us)} ms  (100 in flight)\n`);
      }
    }
    const rates = new Map(cases.map(([name]) => [name, Math.min(RATE, Math.round(median(closed.get(name)!.map((c) => c.rps)) / 2))]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, req] of cases) {
        const run = await fixedRate(p, req, rates.get(name)!, DURATION_S);
        open.get(name)!.push(run);
        process.stdout.write(`  round ${r + 1} ${name.padEnd(32)} at ${rates.get(name)} reviews/s: p50 ${ms(run.p50Us)} ms  p99 ${ms(run.p99Us)} ms\n`);
      }
    }

    const med = (runs: Run[], key: keyof Run) => median(runs.map((x) => x[key]));
    const [baselineName] = cases[0]!;
    const base = { rps: med(closed.get(baselineName)!, 'rps'), p50: med(closed.get(baselineName)!, 'p50Us'), p99: med(closed.get(baselineName)!, 'p99Us') };
    const summary = cases.map(([name]) => {
      const c = closed.get(name)!;
      const o = open.get(name)!;
      return {
        review: name,
        reviewsPerSecond: Math.round(med(c, 'rps')),
        p50Ms: Number(ms(med(c, 'p50Us'))),
        p99Ms: Number(ms(med(c, 'p99Us'))),
        ratioRps: Number(fmt(med(c, 'rps') / base.rps, 3)),
        ratioP50: Number(fmt(med(c, 'p50Us') / base.p50, 3)),
        ratioP99: Number(fmt(med(c, 'p99Us') / base.p99, 3)),
        fixedRate: rates.get(name)!,
        fixedRateP50Ms: Number(ms(med(o, 'p50Us'))),
        fixedRateP99Ms: Number(ms(med(o, 'p99Us'))),
        errors: c.reduce((n, x) => n + x.errors, 0) + o.reduce((n, x) => n + x.errors, 0),
      };
    });
    const lines = [
      '',
      `${'review'.padEnd(32)} ${'reviews/s'.padStart(9)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)}   ratio to no-op (rps p50 p99)   fixed rate: /s  p50 ms  p99 ms`,
      ...summary.map(
        (s) =>
          `${s.review.padEnd(32)} ${String(s.reviewsPerSecond).padStart(9)} ${fmt(s.p50Ms).padStart(7)} ${fmt(s.p99Ms).padStart(7)}   ${fmt(s.ratioRps).padStart(5)} ${fmt(s.ratioP50).padStart(5)} ${fmt(s.ratioP99).padStart(5)}` +
          `                ${String(s.fixedRate).padStart(5)} ${fmt(s.fixedRateP50Ms).padStart(7)} ${fmt(s.fixedRateP99Ms).padStart(7)}${s.errors ? `  errors ${s.errors}` : ''}`,
      ),
      '',
      `goal p99 ≤ ${GOAL_P99_MS} ms: at 100 in flight ${summary.every((s) => s.p99Ms <= GOAL_P99_MS) ? 'met' : 'not met'} (worst ${fmt(Math.max(...summary.map((s) => s.p99Ms)))} ms);` +
        ` at a fixed rate ${summary.every((s) => s.fixedRateP99Ms <= GOAL_P99_MS) ? 'met' : 'not met'} (worst ${fmt(Math.max(...summary.map((s) => s.fixedRateP99Ms)))} ms)`,
      `JSON ${JSON.stringify({ connections: CONNECTIONS, rate: RATE, rounds: ROUNDS, durationS: DURATION_S, cores: availableParallelism(), goalP99Ms: GOAL_P99_MS, results: summary })}`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    await p.close();
    webhook.kill('SIGKILL');
  }
}

if (args.serve) await serve();
else if (args.handlers) handlers();
else await main();
