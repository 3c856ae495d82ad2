// The Grafana dashboard (deploy/grafana/lull.json): valid JSON Grafana can import, every panel queries
// Prometheus, every query parses (promtool) and names only metrics that Lull's parts register.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetrics as interceptorMetrics } from '../../../interceptor/metrics.ts';
import { createMetrics as reconcilerMetrics } from '../../../reconciler/metrics.ts';
import { Activity } from '../../../sidecar/activity.ts';
import type { ClientSockets } from '../../../sidecar/clients.ts';
import { createMetrics as sidecarMetrics } from '../../../sidecar/metrics.ts';
import { createMetrics as webhookMetrics } from '../../../webhook/metrics.ts';
import { dashboardQueries, metricNames, DASHBOARD_PATH } from '../../support/dashboard.ts';

const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8'));
const queries = dashboardQueries(dashboard);

/** Every series name the parts expose, read from their real registries (histograms with their suffixes). */
async function exported(): Promise<Set<string>> {
  const clients = { bytesReceived: () => 0, bytesSent: () => 0 } as unknown as ClientSockets;
  const registries = [
    interceptorMetrics({ held: () => 0, listeners: () => 0, apps: () => 0 }).registry,
    reconcilerMetrics().registry,
    sidecarMetrics(new Activity(), clients, () => true).registry,
    webhookMetrics().registry,
  ];
  const names = new Set<string>();
  for (const registry of registries) {
    for (const [, name, type] of (await registry.metrics()).matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      names.add(name!);
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix);
    }
  }
  return names;
}

const promtool = (() => {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return 'promtool';
  } catch {
    return undefined;
  }
})();
if (promtool === undefined) {
  // Debian's prometheus package brings promtool (scripts/install-deps.sh); CI must have it.
  if (process.env.CI === 'true') throw new Error('the dashboard test needs promtool (apt-get install prometheus)');
  process.stderr.write('\nSKIPPED: promtool is missing, so the dashboard queries are not parsed (apt-get install prometheus)\n');
}

describe('deploy/grafana/lull.json', () => {
  it('is a dashboard with a Prometheus datasource variable and unique panel ids', () => {
    expect(dashboard).toMatchObject({ uid: 'lull', title: 'Lull' });
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    const ids = (dashboard.panels as Array<{ id: number }>).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('shows what the issue asks for: wakes, wake time, held connections, sleeping apps, sidecar overhead', () => {
    const titles = (dashboard.panels as Array<{ title: string }>).map((p) => p.title);
    for (const title of ['Wakes and sleeps', 'Wake time', 'Held connections', 'Sleeping apps', 'Sidecar memory', 'Sidecar CPU']) expect(titles).toContain(title);
  });

  it('has a query in every panel that is not a row, each on the datasource variable', () => {
    for (const panel of dashboard.panels as Array<{ type: string; title: string; targets?: Array<{ expr?: string; datasource?: { uid: string } }> }>) {
      if (panel.type === 'row') continue;
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets!) {
        expect(target.expr, panel.title).toMatch(/\S/);
        expect(target.datasource?.uid, panel.title).toBe('${datasource}');
      }
    }
    expect(queries.length).toBeGreaterThanOrEqual(15);
  });

  it('names only metrics that the parts register', async () => {
    const names = await exported();
    for (const { panel, expr } of queries) {
      const used = metricNames(expr);
      expect(used.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of used) expect(names, `${panel}: ${name} in ${expr}`).toContain(name);
    }
  });

  it.skipIf(promtool === undefined)('parses every query as PromQL (promtool check rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lull-dashboard-'));
    const rules = { groups: [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `lull:dashboard_query_${i}`, expr: q.promql })) }] };
    writeFileSync(join(dir, 'rules.json'), JSON.stringify(rules));
    // JSON is YAML: promtool reads it as a rules file and fails on the first expression it cannot parse.
    const out = execFileSync(promtool!, ['check', 'rules', join(dir, 'rules.json')], { encoding: 'utf8' });
    expect(out).toContain(`${queries.length} rules found`);
  });

  it('refuses a name no part exports (the check can fail)', async () => {
    const names = await exported();
    expect(metricNames('sum(rate(lull_interceptor_wakes_totl[5m]))').every((n) => names.has(n))).toBe(false);
  });
});

describe('metricNames', () => {
  it('finds series names, not functions, labels, keywords or durations', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le) (rate(lull_reconciler_wake_duration_seconds_bucket[5m])))')).toEqual(['lull_reconciler_wake_duration_seconds_bucket']);
    expect(metricNames('process_resident_memory_bytes and on (instance) lull_sidecar_app_ready')).toEqual(['process_resident_memory_bytes', 'lull_sidecar_app_ready']);
    expect(metricNames('max(lull_reconciler_apps{state="sleeping"})')).toEqual(['lull_reconciler_apps']);
  });
});

it('resolves the dashboard path inside the repository', () => {
  expect(DASHBOARD_PATH).toBe(resolve(import.meta.dirname, '../../../deploy/grafana/lull.json'));
});
