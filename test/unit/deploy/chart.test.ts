// The Helm chart, rendered by the real helm (the pinned build, scripts/build-tools.sh): up to date
// with deploy/ (it is generated from it), lint-clean, its defaults render exactly what
// `kubectl apply -k deploy/` applies, and every value lands where a platform team expects it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { Doc } from '../../../scripts/chart.ts';
import { CHART_DIR, chartFiles, kubectlPath, renderDeploy } from '../../../scripts/build-chart.ts';
import { findHelm } from '../../cluster/helm.ts';

const kubectl = await kubectlPath();
const helmSearch = await findHelm();
const helm = helmSearch.path;
const kubectlRuns = (() => {
  try {
    execFileSync(kubectl, ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const runnable = kubectlRuns && helm !== undefined;
// In CI a missing tool fails the run (as the cluster tests do); elsewhere it is a loud skip.
if (!runnable) {
  const missing = [!kubectlRuns && `kubectl (for kustomize; none at ${kubectl})`, helm === undefined && `helm ${helmSearch.version} (looked at ${helmSearch.looked})`].filter(Boolean).join(' and ');
  if (process.env.CI === 'true') throw new Error(`the chart tests need ${missing}`);
  process.stderr.write(`\nSKIPPED: the chart tests need ${missing}\n`);
}

const RELEASE = 'lull';
const NAMESPACE = 'lull-system';
const scratch = mkdtempSync(join(tmpdir(), 'lull-chart-'));
let files = 0;

function helmTemplate(values: Doc = {}, extra: string[] = []): Doc[] {
  const file = join(scratch, `values-${files++}.yaml`);
  // JSON is YAML that Helm's YAML 1.1 parser cannot misread (an unquoted yes is a boolean there).
  writeFileSync(file, JSON.stringify(values));
  const yaml = execFileSync(helm!, ['template', RELEASE, CHART_DIR, '-n', NAMESPACE, '-f', file, ...extra], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

function helmFails(values: Doc): string {
  try {
    helmTemplate(values);
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
  throw new Error('helm template succeeded');
}

const HELM_ONLY_LABELS = ['app.kubernetes.io/instance', 'app.kubernetes.io/version', 'app.kubernetes.io/managed-by', 'helm.sh/chart'];

/** Pure: what Helm adds by design taken out, so the rest must equal deploy/. */
function withoutHelmOnly(doc: Doc): Doc {
  const d = structuredClone(doc);
  const strip = (labels?: Record<string, string>) => HELM_ONLY_LABELS.forEach((l) => labels && delete labels[l]);
  strip(d.metadata?.labels);
  const template = d.spec?.template?.metadata;
  if (template) {
    strip(template.labels);
    delete template.annotations?.['checksum/defaults'];
    if (template.annotations && Object.keys(template.annotations).length === 0) delete template.annotations;
  }
  return d;
}

const key = (d: Doc) => `${d.kind}/${d.metadata?.namespace ?? ''}/${d.metadata?.name}`;
const byKey = (docs: Doc[]) => [...docs].sort((a, b) => key(a).localeCompare(key(b)));
const find = (docs: Doc[], kind: string, name: string) => {
  const doc = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (doc === undefined) throw new Error(`no ${kind} ${name} rendered`);
  return doc;
};
const deployments = (docs: Doc[]) => docs.filter((d) => d.kind === 'Deployment');
const podSpec = (d: Doc) => d.spec.template.spec;
const main = (d: Doc) => podSpec(d).containers[0];
const webhookArgs = (docs: Doc[]) => main(find(docs, 'Deployment', 'lull-webhook')).args as string[];

describe.skipIf(!runnable)('the Helm chart (real helm)', () => {
  const docs = runnable ? renderDeploy(kubectl) : [];

  it('is up to date with deploy/ (else: node scripts/build-chart.ts)', () => {
    const version = (JSON.parse(readFileSync(resolve(CHART_DIR, '../../../package.json'), 'utf8')) as { version: string }).version;
    for (const [name, text] of chartFiles(docs, version)) expect(readFileSync(resolve(CHART_DIR, name), 'utf8'), name).toBe(text);
  });

  it('passes helm lint --strict', () => {
    const out = execFileSync(helm!, ['lint', '--strict', CHART_DIR, '-n', NAMESPACE], { encoding: 'utf8' });
    expect(out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders with its default values exactly what kubectl apply -k deploy/ applies, but the Namespace (helm --create-namespace) and the uninstall hook', () => {
    const rendered = helmTemplate().filter((d) => d.metadata.annotations?.['helm.sh/hook'] === undefined);
    expect(byKey(rendered.map(withoutHelmOnly))).toEqual(byKey(docs.filter((d) => d.kind !== 'Namespace')));
  });

  it('runs lull teardown before uninstalling (a pre-delete Job with RBAC of its own, deleted after), unless turned off', () => {
    const hooks = helmTemplate({ imagePullSecrets: [{ name: 'regcred' }] }).filter((d) => d.metadata.annotations?.['helm.sh/hook'] !== undefined);
    expect(hooks.map((d) => d.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Job', 'Role', 'RoleBinding', 'ServiceAccount']);
    for (const d of hooks) {
      expect(d.metadata.annotations['helm.sh/hook']).toBe('pre-delete');
      expect(d.metadata.annotations['helm.sh/hook-delete-policy']).toBe('before-hook-creation,hook-succeeded');
    }
    const job = hooks.find((d) => d.kind === 'Job')!;
    expect(main(job).args).toEqual(['teardown', '--timeout', '2m']);
    expect(main(job).image).toBe('ghcr.io/lull-dev/lull:0.1.0');
    expect(podSpec(job).serviceAccountName).toBe('lull-teardown');
    expect(podSpec(job).imagePullSecrets).toEqual([{ name: 'regcred' }]);
    // It may list and delete the route records (named per port, so by label), the webhook's Secrets and the Lease.
    const role = hooks.find((d) => d.kind === 'Role')!;
    const allows = (resource: string, verb: string, name?: string) => role.rules.some((r: any) => r.resources.includes(resource) && r.verbs.includes(verb) && (r.resourceNames === undefined || (name !== undefined && r.resourceNames.includes(name))));
    expect(['list', 'delete'].filter((verb) => !allows('configmaps', verb))).toEqual([]);
    expect(['lull-webhook-tls', 'lull-webhook-ca', 'lull-drain-key'].filter((name) => !allows('secrets', 'delete', name))).toEqual([]);
    expect(allows('leases', 'delete', 'lull-reconciler')).toBe(true);
    // The RBAC exists before the Job runs.
    for (const d of hooks.filter((x) => x.kind !== 'Job')) expect(Number(d.metadata.annotations['helm.sh/hook-weight'])).toBeLessThan(Number(job.metadata.annotations['helm.sh/hook-weight']));
    expect(helmTemplate({ teardown: { enabled: false } }).filter((d) => d.metadata.annotations?.['helm.sh/hook'] !== undefined)).toEqual([]);
  });

  it('refuses values its schema does not allow, naming the field', () => {
    expect(helmFails({ webhook: { failurePolicy: 'Sometimes' } })).toMatch(/failurePolicy/);
    expect(helmFails({ image: { digest: 'latest' } })).toMatch(/digest/);
    expect(helmFails({ imagePullPolicy: 'Always' })).toMatch(/imagePullPolicy/);
    expect(helmFails({ defaults: { maxHeldPerNamespace: 'half' } })).toMatch(/maxHeldPerNamespace/);
  });

  it('says in NOTES.txt where it is and how to opt an app in', () => {
    const out = execFileSync(helm!, ['install', RELEASE, CHART_DIR, '-n', NAMESPACE, '--dry-run=client'], { encoding: 'utf8' });
    expect(out).toContain('Lull 0.1.0 is installed in lull-system');
    expect(out).toContain('kubectl annotate deploy/NAME lull.dev/enabled=true');
  });

  it('puts every object in the release namespace, the webhook configurations included', () => {
    const rendered = helmTemplate({}, ['--namespace', 'platform-lull']);
    for (const d of rendered.filter((x) => x.metadata.namespace !== undefined)) expect(d.metadata.namespace, key(d)).toBe('platform-lull');
    const mutating = find(rendered, 'MutatingWebhookConfiguration', 'lull-webhook');
    expect(mutating.webhooks[0].clientConfig.service.namespace).toBe('platform-lull');
    expect(mutating.webhooks[0].namespaceSelector.matchExpressions[0].values).toContain('platform-lull');
    for (const b of rendered.filter((x) => x.kind.endsWith('RoleBinding'))) for (const s of b.subjects) expect(s.namespace).toBe('platform-lull');
    // The admission policies match Lull's ServiceAccounts and exclude Lull's namespace by name, in CEL.
    const policies = JSON.stringify(rendered.filter((x) => x.kind === 'ValidatingAdmissionPolicy'));
    expect(policies).toContain("system:serviceaccount:platform-lull:lull-reconciler");
    expect(policies).toContain("'platform-lull']");
    expect(policies).not.toContain('lull-system');
  });

  it('gives every object the recommended labels, and keeps the selectors as they were (immutable)', () => {
    const rendered = helmTemplate();
    for (const d of rendered) {
      expect(d.metadata.labels, key(d)).toMatchObject({ 'app.kubernetes.io/instance': RELEASE, 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/version': '0.1.0' });
    }
    for (const d of deployments(rendered)) {
      expect(d.spec.template.metadata.labels).toMatchObject({ 'app.kubernetes.io/instance': RELEASE });
      expect(Object.keys(d.spec.selector.matchLabels)).not.toContain('app.kubernetes.io/instance');
    }
  });

  // One row per value: the values given, and what a user then sees in the rendered objects.
  const table: { value: string; values: Doc; check: (docs: Doc[]) => void }[] = [
    {
      value: 'image.repository and image.tag: every part and the injected sidecar',
      values: { image: { repository: 'registry.example/lull', tag: '9.9.9' } },
      check: (r) => {
        for (const d of deployments(r)) expect(main(d).image).toBe('registry.example/lull:9.9.9');
        expect(webhookArgs(r)[webhookArgs(r).indexOf('--sidecar-image') + 1]).toBe('registry.example/lull:9.9.9');
        // The reconciler's policy allows exactly the sidecar image the webhook injects.
        const reconcilerPolicy = JSON.stringify(find(r, 'ValidatingAdmissionPolicy', 'lull-reconciler-deployments'));
        expect(reconcilerPolicy).toContain('registry.example/lull:9.9.9');
        expect(reconcilerPolicy).not.toContain('ghcr.io/lull-dev/lull');
      },
    },
    {
      value: 'image.digest wins over the tag',
      values: { image: { digest: 'sha256:' + 'a'.repeat(64) } },
      check: (r) => {
        for (const d of deployments(r)) expect(main(d).image).toBe(`ghcr.io/lull-dev/lull@sha256:${'a'.repeat(64)}`);
        expect(webhookArgs(r)).toContain(`ghcr.io/lull-dev/lull@sha256:${'a'.repeat(64)}`);
      },
    },
    {
      value: 'image.pullPolicy and imagePullSecrets, for the parts and the injected sidecar',
      values: { image: { pullPolicy: 'Always' }, imagePullSecrets: [{ name: 'regcred' }, { name: 'mirror' }] },
      check: (r) => {
        const args = webhookArgs(r);
        expect(args.filter((_, i) => args[i - 1] === '--sidecar-image-pull-secret')).toEqual(['regcred', 'mirror']);
        expect(args[args.indexOf('--sidecar-image-pull-policy') + 1]).toBe('Always');
        for (const d of deployments(r)) {
          expect(main(d).imagePullPolicy).toBe('Always');
          expect(podSpec(d).imagePullSecrets).toEqual([{ name: 'regcred' }, { name: 'mirror' }]);
        }
      },
    },
    {
      value: 'sidecar resources and pull policy reach the webhook, which injects them',
      values: { image: { pullPolicy: 'Always' }, sidecar: { resources: { requests: { cpu: '5m', memory: '32Mi' } } } },
      check: (r) => {
        const args = webhookArgs(r);
        expect(args[args.indexOf('--sidecar-image-pull-policy') + 1]).toBe('Always');
        expect(JSON.parse(args[args.indexOf('--sidecar-resources') + 1]!)).toEqual({ requests: { cpu: '5m', memory: '32Mi' } });
      },
    },
    {
      value: 'replicas and resources per part (merged into the defaults, as Helm merges maps; null drops a key)',
      values: { interceptor: { replicas: 3 }, reconciler: { resources: { requests: { cpu: '1' }, limits: null } } },
      check: (r) => {
        expect(find(r, 'Deployment', 'lull-interceptor').spec.replicas).toBe(3);
        expect(main(find(r, 'Deployment', 'lull-reconciler')).resources).toEqual({ requests: { cpu: '1', memory: '128Mi' } });
        expect(main(find(r, 'Deployment', 'lull-webhook')).resources.limits).toEqual({ memory: '256Mi' });
      },
    },
    {
      value: 'nodeSelector, tolerations, topologySpreadConstraints, priorityClassName',
      values: {
        nodeSelector: { pool: 'system' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'system', effect: 'NoSchedule' }],
        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' }],
        priorityClassName: 'system-cluster-critical',
      },
      check: (r) => {
        for (const d of deployments(r)) {
          expect(podSpec(d).nodeSelector).toEqual({ pool: 'system' });
          expect(podSpec(d).tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'system', effect: 'NoSchedule' }]);
          expect(podSpec(d).topologySpreadConstraints[0].topologyKey).toBe('topology.kubernetes.io/zone');
          expect(podSpec(d).priorityClassName).toBe('system-cluster-critical');
        }
      },
    },
    {
      value: 'affinity per part, deploy/ anti-affinity dropped with null',
      values: { webhook: { affinity: { podAntiAffinity: null, nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }] } } } } },
      check: (r) => {
        expect(Object.keys(podSpec(find(r, 'Deployment', 'lull-webhook')).affinity)).toEqual(['nodeAffinity']);
        expect(podSpec(find(r, 'Deployment', 'lull-reconciler')).affinity.podAntiAffinity).toBeDefined();
      },
    },
    {
      value: 'podAnnotations, podLabels, commonLabels, extraEnv',
      values: { podAnnotations: { 'example.com/team': 'platform' }, podLabels: { team: 'platform' }, commonLabels: { cost: 'infra' }, extraEnv: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=200' }] },
      check: (r) => {
        for (const d of deployments(r)) {
          expect(d.spec.template.metadata.annotations['example.com/team']).toBe('platform');
          expect(d.spec.template.metadata.labels.team).toBe('platform');
          expect(main(d).env.at(-1)).toEqual({ name: 'NODE_OPTIONS', value: '--max-old-space-size=200' });
          expect(main(d).env.some((e: Doc) => e.name === 'LULL_LOG_LEVEL')).toBe(true);
        }
        for (const d of r) expect(d.metadata.labels.cost, key(d)).toBe('infra');
      },
    },
    {
      value: 'securityContext overridable: no fixed runAsUser (OpenShift assigns one)',
      values: { interceptor: { podSecurityContext: { runAsUser: null, runAsGroup: null } } },
      check: (r) => {
        const pod = podSpec(find(r, 'Deployment', 'lull-interceptor')).securityContext;
        expect(pod).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        expect(podSpec(find(r, 'Deployment', 'lull-webhook')).securityContext.runAsUser).toBe(65532);
      },
    },
    {
      value: 'webhook failurePolicy, timeoutSeconds, port, hostNetwork',
      values: { webhook: { failurePolicy: 'Fail', timeoutSeconds: 10, port: 10250, hostNetwork: true } },
      check: (r) => {
        for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
          for (const w of find(r, kind, 'lull-webhook').webhooks) expect([w.failurePolicy, w.timeoutSeconds]).toEqual(['Fail', 10]);
        }
        const d = find(r, 'Deployment', 'lull-webhook');
        expect(main(d).ports.find((p: Doc) => p.name === 'https').containerPort).toBe(10250);
        expect(webhookArgs(r).slice(-2)).toEqual(['--port', '10250']);
        expect([podSpec(d).hostNetwork, podSpec(d).dnsPolicy]).toEqual([true, 'ClusterFirstWithHostNet']);
        expect(podSpec(find(r, 'Deployment', 'lull-reconciler')).hostNetwork).toBeUndefined();
      },
    },
    {
      value: 'defaults: strings in the ConfigMap, whatever type the values give',
      values: { defaults: { wakeReplicas: 2, idleAfter: '5m' } },
      check: (r) => expect(find(r, 'ConfigMap', 'lull-defaults').data).toMatchObject({ 'wake-replicas': '2', 'idle-after': '5m' }),
    },
    {
      value: 'metrics: a Service per part, and ServiceMonitors (off by default)',
      values: { metrics: { serviceMonitor: { enabled: true, labels: { release: 'prometheus' } } } },
      check: (r) => {
        const services = r.filter((d) => d.kind === 'Service' && d.metadata.name.endsWith('-metrics'));
        expect(services.map((d) => [d.metadata.name, d.spec.ports[0].targetPort])).toEqual([
          ['lull-webhook-metrics', 'https'],
          ['lull-reconciler-metrics', 'http-admin'],
          ['lull-interceptor-metrics', 'admin'],
        ]);
        const monitors = r.filter((d) => d.kind === 'ServiceMonitor');
        expect(monitors.map((d) => [d.spec.selector.matchLabels['app.kubernetes.io/component'], d.spec.endpoints[0].scheme])).toEqual([
          ['webhook', 'https'],
          ['reconciler', 'http'],
          ['interceptor', 'http'],
        ]);
        for (const m of monitors) expect(m.metadata.labels.release).toBe('prometheus');
        expect(helmTemplate().some((d) => d.kind === 'ServiceMonitor' || d.metadata.name.endsWith('-metrics'))).toBe(false);
      },
    },
    {
      value: 'metrics.podMonitor: one PodMonitor for the sidecars\' lull-admin port in every namespace (off by default)',
      values: { metrics: { podMonitor: { enabled: true, interval: '15s', labels: { release: 'prometheus' } } } },
      check: (r) => {
        const monitors = r.filter((d) => d.kind === 'PodMonitor');
        expect(monitors.map((d) => [d.metadata.name, d.spec.namespaceSelector, d.spec.podMetricsEndpoints])).toEqual([
          ['lull-sidecars', { any: true }, [{ port: 'lull-admin', path: '/metrics', interval: '15s', scheme: 'http' }]],
        ]);
        expect(monitors[0]!.metadata.labels.release).toBe('prometheus');
        expect(helmTemplate().some((d) => d.kind === 'PodMonitor')).toBe(false);
      },
    },
    {
      value: 'networkPolicy: the webhook port open (the API server), the reconciler only to metricsFrom (off by default)',
      values: { networkPolicy: { enabled: true, metricsFrom: [{ namespaceSelector: { matchLabels: { name: 'monitoring' } } }] }, webhook: { port: 10250 } },
      check: (r) => {
        const policies = r.filter((d) => d.kind === 'NetworkPolicy');
        expect(policies.map((d) => d.metadata.name)).toEqual(['lull-webhook', 'lull-reconciler']);
        expect(policies[0]!.spec.ingress).toEqual([{ ports: [{ port: 10250, protocol: 'TCP' }] }]);
        expect(policies[1]!.spec.ingress).toEqual([{ from: [{ namespaceSelector: { matchLabels: { name: 'monitoring' } } }], ports: [{ port: 9950, protocol: 'TCP' }] }]);
        expect(helmTemplate({ networkPolicy: { enabled: true } }).find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === 'lull-reconciler')!.spec.ingress).toEqual([]);
        expect(helmTemplate().some((d) => d.kind === 'NetworkPolicy')).toBe(false);
      },
    },
  ];

  it.each(table)('$value', ({ values, check }) => check(helmTemplate(values)));

  it('rolls the pods when the defaults change (checksum annotation), and not otherwise', () => {
    const sum = (docs: Doc[]) => deployments(docs).map((d) => d.spec.template.metadata.annotations['checksum/defaults']);
    const before = sum(helmTemplate());
    expect(before.every((s) => /^[0-9a-f]{64}$/.test(s))).toBe(true);
    expect(sum(helmTemplate({ logLevel: 'debug' }))).toEqual(before);
    const after = sum(helmTemplate({ defaults: { idleAfter: '1m' } }));
    for (const [i, s] of after.entries()) expect(s).not.toBe(before[i]);
  });
});
