// Writes deploy/helm/lull from `kubectl kustomize deploy/`, so the chart and the kustomize base never
// drift: `node scripts/build-chart.ts` after changing anything under deploy/ (a unit test checks it).
//   KUBECTL=/path/to/kubectl overrides which kubectl renders (else the pinned one, else the PATH's).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { findBinaries } from '../test/cluster/binaries.ts';
import { GENERATED, templatize, type Doc } from './chart.ts';

const REPO = resolve(import.meta.dirname, '..');
export const CHART_DIR = resolve(REPO, 'deploy/helm/lull');

/** One line above each top-level value in values.yaml. */
const COMMENTS: Record<string, string> = {
  image: 'The one image of every part, and of the sidecar the webhook injects; a digest (sha256:...) wins over the tag.',
  imagePullSecrets: 'Secrets to pull the image with: [{ name: regcred }]; the webhook adds them to injected pods too (they must exist in the apps\' namespaces).',
  logLevel: 'pino level of every part: trace, debug, info, warn, error.',
  commonLabels: 'Added to every object the chart renders.',
  podLabels: 'Added to the pods of every part.',
  podAnnotations: 'Added to the pods of every part.',
  extraEnv: 'More environment variables for every part: [{ name: NODE_OPTIONS, value: --max-old-space-size=200 }].',
  nodeSelector: 'Scheduling of every part.',
  tolerations: '',
  topologySpreadConstraints: '',
  priorityClassName: 'The interceptor carries every sleeping app\'s traffic: a high priority keeps it scheduled.',
  webhook: 'Admission webhook: two replicas keep admissions flowing during a rollout. hostNetwork for clusters whose API server cannot reach pod IPs (private GKE, EKS with a custom CNI): pick a port free on the nodes.',
  reconciler: 'One replica leads (a Lease), the other stands by.',
  interceptor: 'Holds requests for sleeping apps and wakes them: two or more.',
  sidecar: 'The sidecar the webhook injects into each app\'s pods: its resources (else 10m/48Mi requests, 256Mi limit); its image and pull policy are image.*.',
  teardown: 'helm uninstall first runs `lull teardown` (a pre-delete Job): wakes every sleeping app and removes Lull\'s slices; timeout per app.',
  metrics: 'A metrics Service per part (/metrics), and a ServiceMonitor per part for the Prometheus Operator (needs its CRD); podMonitor scrapes the injected sidecars in every namespace. Dashboard: deploy/grafana/lull.json.',
  networkPolicy: 'Ingress NetworkPolicies for the webhook (its port, from anywhere: the API server) and the reconciler (its admin port from metricsFrom only); the interceptor stays open.',
  defaults: 'Cluster-wide defaults for apps without the annotation (lull.dev/idle-after, wake-replicas, hold-timeout, max-held); a change rolls the parts.',
};

/** Values the templates of _helpers.tpl read that deploy/ has no field for; empty renders deploy/ exactly. */
export const EXTRA_VALUES: Doc = {
  image: { digest: '' },
  imagePullSecrets: [],
  commonLabels: {},
  podLabels: {},
  podAnnotations: {},
  extraEnv: [],
  nodeSelector: {},
  tolerations: [],
  topologySpreadConstraints: [],
  priorityClassName: '',
  webhook: { hostNetwork: false },
  sidecar: { resources: {} },
  teardown: { enabled: true, timeout: '2m', activeDeadlineSeconds: 600 },
  metrics: { service: { enabled: false }, serviceMonitor: { enabled: false, interval: '30s', labels: {} }, podMonitor: { enabled: false, interval: '30s', labels: {} } },
  networkPolicy: { enabled: false, metricsFrom: [] },
};

function merge(into: Doc, extra: Doc): Doc {
  for (const [key, value] of Object.entries(extra)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && typeof into[key] === 'object') merge(into[key], value);
    else into[key] ??= value;
  }
  return into;
}

export async function kubectlPath(): Promise<string> {
  if (process.env.KUBECTL) return process.env.KUBECTL;
  return (await findBinaries()).found?.paths.kubectl ?? 'kubectl';
}

export function renderDeploy(kubectl: string): Doc[] {
  const yaml = execFileSync(kubectl, ['kustomize', resolve(REPO, 'deploy')], { encoding: 'utf8' });
  return parseAllDocuments(yaml).map((d) => d.toJS() as Doc);
}

export function valuesYaml(values: Doc): string {
  const order = Object.keys(COMMENTS);
  const keys = Object.keys(values).sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
  const blocks = keys.map((key) => {
    const value = values[key];
    const comment = COMMENTS[key] ? `# ${COMMENTS[key]}\n` : '';
    return `${comment}${stringify({ [key]: value })}`;
  });
  return `# Lull's Helm chart, generated from deploy/ by scripts/build-chart.ts. Its defaults render exactly\n# what \`kubectl apply -k deploy/\` applies, into the release namespace (helm install -n lull-system --create-namespace).\n\n${blocks.join('\n')}`;
}

/** The oldest Kubernetes Lull supports: ValidatingWebhookConfiguration matchConditions are GA in 1.30. */
export const KUBE_VERSION = '>=1.30.0-0';

export function chartYaml(version: string): string {
  return stringify({
    apiVersion: 'v2',
    name: 'lull',
    description: 'Scale-to-zero for ordinary Kubernetes Deployments: no CRDs, no change to the app.',
    type: 'application',
    version,
    appVersion: version,
    kubeVersion: KUBE_VERSION,
    home: 'https://github.com/lull-dev/lull',
    keywords: ['scale-to-zero', 'autoscaling', 'serverless'],
  });
}

/** The chart's files, relative to CHART_DIR. */
export function chartFiles(docs: readonly Doc[], version: string): Map<string, string> {
  const chart = templatize(docs);
  const files = new Map<string, string>([
    ['Chart.yaml', chartYaml(version)],
    ['values.yaml', valuesYaml(merge(chart.values, EXTRA_VALUES))],
  ]);
  for (const [name, text] of chart.templates) files.set(`templates/${name}`, text);
  return files;
}

if (import.meta.main) {
  const { version } = (await import('../package.json', { with: { type: 'json' } })).default as { version: string };
  const files = chartFiles(renderDeploy(await kubectlPath()), version);
  // Only the generated templates: _helpers.tpl, NOTES.txt and the hooks are written by hand.
  const templates = resolve(CHART_DIR, 'templates');
  mkdirSync(templates, { recursive: true });
  for (const name of readdirSync(templates)) if (readFileSync(resolve(templates, name), 'utf8').startsWith(GENERATED.slice(0, 36))) rmSync(resolve(templates, name));
  for (const [name, text] of files) writeFileSync(resolve(CHART_DIR, name), text);
  process.stdout.write(`wrote ${CHART_DIR}: ${[...files.keys()].join(', ')}\n`);
}
