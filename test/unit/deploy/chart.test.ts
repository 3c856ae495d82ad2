// The Helm chart is deploy/ templatized: fresh (scripts/build-chart.ts was run after the last change
// to deploy/), and its defaults render exactly what `kubectl apply -k deploy/` applies.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { renderTemplate, type Doc } from '../../../scripts/chart.ts';
import { CHART_DIR, chartFiles, kubectlPath, renderDeploy } from '../../../scripts/build-chart.ts';

const kubectl = await kubectlPath();
const runnable = (() => {
  try {
    execFileSync(kubectl, ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!runnable) process.stderr.write(`\nSKIPPED: the chart tests need kubectl (for kustomize); none at ${kubectl}\n`);

const key = (d: Doc) => `${d.kind}/${d.metadata?.namespace ?? ''}/${d.metadata?.name}`;
const byKey = (docs: Doc[]) => [...docs].sort((a, b) => key(a).localeCompare(key(b)));

function renderChart(overrides: (values: Doc) => void = () => {}): Doc[] {
  const values = parse(readFileSync(resolve(CHART_DIR, 'values.yaml'), 'utf8')) as Doc;
  overrides(values);
  const dir = resolve(CHART_DIR, 'templates');
  return readdirSync(dir).flatMap((file) =>
    parseAllDocuments(renderTemplate(readFileSync(resolve(dir, file), 'utf8'), values))
      .map((d) => d.toJS() as Doc | null)
      .filter((d): d is Doc => d !== null),
  );
}

describe.skipIf(!runnable)('the Helm chart', () => {
  const docs = runnable ? renderDeploy(kubectl) : [];

  it('is up to date with deploy/ (else: node scripts/build-chart.ts)', () => {
    const version = (JSON.parse(readFileSync(resolve(CHART_DIR, '../../../package.json'), 'utf8')) as { version: string }).version;
    for (const [name, text] of chartFiles(docs, version)) expect(readFileSync(resolve(CHART_DIR, name), 'utf8'), name).toBe(text);
  });

  it('renders with its default values exactly what kubectl apply -k deploy/ applies', () => {
    expect(byKey(renderChart())).toEqual(byKey(docs));
  });

  it('puts the image, replicas, resources and defaults where they belong', () => {
    const rendered = renderChart((v) => {
      v.image = 'registry.example/lull:9.9.9';
      v.interceptor.replicas = 3;
      v.reconciler.resources = { requests: { cpu: '1' } };
      v.defaults.wakeReplicas = 2;
      v.defaults.idleAfter = '5m';
      v.namespace.create = false;
    });
    const deployments = rendered.filter((d) => d.kind === 'Deployment');
    for (const d of deployments) expect(d.spec.template.spec.containers[0].image).toBe('registry.example/lull:9.9.9');
    const webhook = deployments.find((d) => d.metadata.name === 'lull-webhook')!;
    const args: string[] = webhook.spec.template.spec.containers[0].args;
    expect(args[args.indexOf('--sidecar-image') + 1]).toBe('registry.example/lull:9.9.9');
    expect(deployments.find((d) => d.metadata.name === 'lull-interceptor')!.spec.replicas).toBe(3);
    expect(deployments.find((d) => d.metadata.name === 'lull-reconciler')!.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: '1' } });
    // ConfigMap data are strings, whatever type a values file gives.
    expect(rendered.find((d) => d.kind === 'ConfigMap')!.data).toMatchObject({ 'wake-replicas': '2', 'idle-after': '5m' });
    expect(rendered.some((d) => d.kind === 'Namespace')).toBe(false);
    expect(rendered).toHaveLength(docs.length - 1);
  });
});
