// Reads the Grafana dashboard's queries, for the unit test (names, syntax) and the observability e2e
// test (each returns data from a real Prometheus).
import { resolve } from 'node:path';

export const DASHBOARD_PATH = resolve(import.meta.dirname, '../../deploy/grafana/lull.json');

/** What Grafana puts for its range variables; Prometheus itself would refuse them. */
const GRAFANA_VARIABLES: Record<string, string> = { $__rate_interval: '1m', $__interval: '15s', $__range: '1h' };

export interface DashboardQuery {
  panel: string;
  /** As written in the dashboard. */
  expr: string;
  /** With Grafana's variables replaced, ready for Prometheus. */
  promql: string;
}

export function dashboardQueries(dashboard: { panels: Array<{ title: string; targets?: Array<{ expr?: string }> }> }, variables: Record<string, string> = {}): DashboardQuery[] {
  const values = { ...GRAFANA_VARIABLES, ...variables };
  const out: DashboardQuery[] = [];
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) {
      if (!target.expr) continue;
      const promql = target.expr.replace(/\$__[a-z_]+/g, (v) => values[v] ?? v);
      out.push({ panel: panel.title, expr: target.expr, promql });
    }
  }
  return out;
}

/** Series names in a PromQL expression: identifiers followed by a selector, a range or the end of a term, not calls or labels. */
export function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const withoutLabelLists = withoutStrings.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const withoutMatchers = withoutLabelLists.replace(/\{[^}]*\}/g, '{}').replace(/\[[^\]]*\]/g, '[]');
  const names: string[] = [];
  for (const match of withoutMatchers.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = match[0];
    const next = withoutMatchers.slice(match.index + word.length).trimStart()[0];
    if (next === '(') continue; // a function or aggregation
    if (['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan'].includes(word.toLowerCase())) continue;
    if (!names.includes(word)) names.push(word);
  }
  return names;
}
