// Writes deploy/helm/lull from `kubectl kustomize deploy/`, so the chart and the kustomize base never
// drift: `node scripts/build-chart.ts` after changing anything under deploy/ (a unit test checks it).
//   KUBECTL=/path/to/kubectl overrides which kubectl renders (else the pinned one, else the PATH's).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { findBinaries } from '../test/cluster/binaries.ts';
import { templatize, type Doc } from './chart.ts';

const REPO = resolve(import.meta.dirname, '..');
export const CHART_DIR = resolve(REPO, 'deploy/helm/lull');

/** One line above each top-level value in values.yaml. */
const COMMENTS: Record<string, string> = {
  namespace: 'Lull runs in lull-system (its parts know the name); set create: false when it exists already.',
  image: 'The one image of every part, and of the sidecar the webhook injects.',
  imagePullPolicy: '',
  logLevel: 'pino level of every part: trace, debug, info, warn, error.',
  webhook: 'Admission webhook: two replicas keep admissions flowing during a rollout (failurePolicy Ignore either way).',
  reconciler: 'One replica leads (a Lease), the other stands by.',
  interceptor: 'Holds requests for sleeping apps and wakes them: two or more.',
  defaults: 'Cluster-wide defaults for apps without the annotation (lull.dev/idle-after, wake-replicas, hold-timeout, max-held).',
};

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
  return `# Lull's Helm chart, generated from deploy/ by scripts/build-chart.ts. Its defaults render exactly\n# what \`kubectl apply -k deploy/\` applies.\n\n${blocks.join('\n')}`;
}

export function chartYaml(version: string): string {
  return stringify({
    apiVersion: 'v2',
    name: 'lull',
    description: 'Scale-to-zero for ordinary Kubernetes Deployments: no CRDs, no change to the app.',
    type: 'application',
    version,
    appVersion: version,
    home: 'https://github.com/lull-dev/lull',
    keywords: ['scale-to-zero', 'autoscaling', 'serverless'],
  });
}

/** The chart's files, relative to CHART_DIR. */
export function chartFiles(docs: readonly Doc[], version: string): Map<string, string> {
  const chart = templatize(docs);
  const files = new Map<string, string>([
    ['Chart.yaml', chartYaml(version)],
    ['values.yaml', valuesYaml(chart.values)],
  ]);
  for (const [name, text] of chart.templates) files.set(`templates/${name}`, text);
  return files;
}

if (import.meta.main) {
  const { version } = (await import('../package.json', { with: { type: 'json' } })).default as { version: string };
  const files = chartFiles(renderDeploy(await kubectlPath()), version);
  rmSync(resolve(CHART_DIR, 'templates'), { recursive: true, force: true });
  mkdirSync(resolve(CHART_DIR, 'templates'), { recursive: true });
  for (const [name, text] of files) writeFileSync(resolve(CHART_DIR, name), text);
  process.stdout.write(`wrote ${CHART_DIR}: ${[...files.keys()].join(', ')}\n`);
}
