import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../core/annotations.ts';
import { appView } from '../../../cli/app-view.ts';
import { formatStatus, statusItem } from '../../../cli/status-report.ts';

function deployment(annotations: Record<string, string>): V1Deployment {
  return {
    metadata: { name: 'web', namespace: 'team', annotations: { 'lull.dev/enabled': 'true', 'lull.dev/injected': '0.1.0', 'lull.dev/state': 'awake', ...annotations }, generation: 1 },
    spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app' }], initContainers: [{ name: 'lull-sidecar', restartPolicy: 'Always' }] } } },
    status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 },
  };
}

describe('lull status: awake-hours', () => {
  const now = Date.parse('2026-12-01T09:00:00Z'); // Tuesday, 10:00 in Paris
  it('shows the schedule and the next transition under the table, and in JSON', () => {
    const hours = { 'lull.dev/awake-hours': 'Mon-Fri 08:00-19:00 Europe/Paris', 'lull.dev/outside-hours': 'refuse', 'lull.dev/wake-at-start': 'true' };
    const item = statusItem(appView(deployment(hours), DEFAULTS), undefined, undefined, now);
    expect(item.schedule).toEqual({ awakeHours: 'Mon-Fri 08:00-19:00 Europe/Paris', zone: 'Europe/Paris', outsideHours: 'refuse', wakeAtStart: true, open: true, next: { kind: 'close', at: '2026-12-01T18:00:00.000Z' } });
    const lines = formatStatus([item], 'table', false, now).split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATE\s+REPLICAS\s+IDLE-AFTER\s+LAST-ACTIVITY\s+ASLEEP-FOR\s+LAST-WAKE$/);
    expect(lines.slice(2)).toEqual([
      '',
      'web: awake-hours Mon-Fri 08:00-19:00 Europe/Paris: open, closes Tue 2026-12-01 19:00 Europe/Paris (2026-12-01T18:00:00Z) in 9h; outside them requests refused (503 until it opens); woken before it opens (wake-at-start)',
      '',
    ]);
    const closed = statusItem(appView(deployment({ 'lull.dev/awake-hours': 'Sat 10:00-14:00 UTC' }), DEFAULTS), undefined, undefined, now);
    expect(formatStatus([closed], 'wide', true, now)).toContain('\nteam/web: awake-hours Sat 10:00-14:00 UTC: closed, opens Sat 2026-12-05 10:00 UTC (2026-12-05T10:00:00Z) in 4d1h; outside them requests wake it\n');
  });
  it('adds nothing for an app without awake-hours', () => {
    const item = statusItem(appView(deployment({}), DEFAULTS), undefined, undefined, now);
    expect(item.schedule).toBeUndefined();
    expect(formatStatus([item], 'table', false, now).split('\n')).toHaveLength(3);
  });
});
