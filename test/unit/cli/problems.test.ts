// `lull status` shows why an app will not sleep or wake, in the words the webhook warned with.
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../core/annotations.ts';
import { appView } from '../../../cli/app-view.ts';
import { meantForLull, problemsOf } from '../../../cli/problems.ts';
import { notManagedReason } from '../../../cli/resolve.ts';
import { formatStatus, statusItem } from '../../../cli/status-report.ts';

function deployment(name: string, annotations: Record<string, string>, labels = { app: name }): V1Deployment {
  return {
    metadata: { name, namespace: 'team', annotations, generation: 1 },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', ports: [{ containerPort: 8080 }] }] } } },
    status: { readyReplicas: 1, replicas: 1, updatedReplicas: 1, observedGeneration: 1 },
  };
}
const service = (name: string, selector: Record<string, string>, clusterIP?: string): V1Service => ({ metadata: { name, namespace: 'team' }, spec: { selector, ports: [{ port: 80 }], ...(clusterIP ? { clusterIP } : {}) } });

describe('problemsOf', () => {
  it('finds the misspelt opt-in of a Deployment Lull does not manage', () => {
    const typo = deployment('web', { 'lull.dev/enable': 'true', 'lull.dev/idle-afer': '5m' });
    expect(meantForLull(typo)).toBe(true);
    expect(meantForLull(deployment('web', { 'lull.dev/enabled': 'false' }))).toBe(false);
    expect(meantForLull(deployment('web', {}))).toBe(false);
    expect(problemsOf(typo, false, DEFAULTS, [service('web', { app: 'web' })], [typo]).map((p) => p.effect)).toEqual(['will not sleep', 'ignored']);
  });

  it("judges a managed app's Services in its own namespace only", () => {
    const web = deployment('web', { 'lull.dev/enabled': 'true' });
    const elsewhere: V1Service = { ...service('web', { app: 'web' }), metadata: { name: 'web', namespace: 'other' } };
    expect(problemsOf(web, true, DEFAULTS, [elsewhere], [web]).map((p) => p.code)).toEqual(['LULL_NO_SERVICE']);
    expect(problemsOf(web, true, DEFAULTS, [service('web', { app: 'web' }, 'None')], [web]).map((p) => p.code)).toEqual(['LULL_HEADLESS_SERVICE']);
    expect(problemsOf(web, true, DEFAULTS, [service('web', { app: 'web' })], [web])).toEqual([]);
  });
});

describe('lull wake/sleep on an app that is not opted in', () => {
  it('names the misspelt opt-in', () => {
    expect(notManagedReason('team', { 'lull.dev/enable': 'true' }, {})).toBe(
      'it has no lull.dev/enabled annotation and its namespace is not labelled lull.dev/inject=enabled: lull.dev/enable is not a Lull annotation and is ignored; did you mean lull.dev/enabled?',
    );
  });
});

describe('lull status with reasons', () => {
  it('lists each reason under the table, and in JSON', () => {
    const now = Date.parse('2026-01-01T01:00:00Z');
    const typo = deployment('web', { 'lull.dev/enable': 'true', 'lull.dev/idle-afer': '5m' });
    const view = { ...appView(typo, DEFAULTS), state: 'unmanaged' as const };
    const item = statusItem(view, undefined, undefined, now, problemsOf(typo, false, DEFAULTS, [service('web', { app: 'web' })], [typo]));
    expect(formatStatus([item], 'table', false, now)).toBe(
      [
        'NAME   STATE       REPLICAS   IDLE-AFTER   LAST-ACTIVITY   ASLEEP-FOR   LAST-WAKE',
        'web    unmanaged   1/1        15m          -               -            -',
        '',
        'web: will not sleep: lull.dev/enable is not a Lull annotation and is ignored; did you mean lull.dev/enabled?',
        'web: lull.dev/idle-afer is not a Lull annotation and is ignored; did you mean lull.dev/idle-after?',
        '',
      ].join('\n'),
    );
    expect(JSON.parse(formatStatus([item], 'json', false, now)).items[0].problems).toEqual([
      { code: 'LULL_UNKNOWN_ANNOTATION', effect: 'will not sleep', message: 'lull.dev/enable is not a Lull annotation and is ignored; did you mean lull.dev/enabled?' },
      { code: 'LULL_UNKNOWN_ANNOTATION', effect: 'ignored', message: 'lull.dev/idle-afer is not a Lull annotation and is ignored; did you mean lull.dev/idle-after?' },
    ]);
  });
});
