// The demo's pure parts: its flags, the sample app, what the manifests install, and the wake timeline's lines.
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { readManifests } from '../../../demo/install.ts';
import { parseDemoOptions } from '../../../demo/options.ts';
import { sampleApp } from '../../../demo/sample-app.ts';
import { summarize } from '../../../demo/traffic.ts';
import { eventLine, podLine } from '../../../demo/wake-timeline.ts';

describe('lull demo', () => {
  it('takes a short idle time and its own namespace', () => {
    expect(parseDemoOptions([], '/repo/deploy')).toMatchObject({ idleAfter: '20s', idleAfterMs: 20_000, namespace: 'lull-demo', install: '/repo/deploy', down: false });
    expect(parseDemoOptions(['--idle-after', '5s', '--down'], 'd')).toMatchObject({ idleAfterMs: 5000, down: true });
    expect(() => parseDemoOptions(['--idle-after', '500ms'], 'd')).toThrow('setting --idle-after has value "500ms"');
    expect(() => parseDemoOptions(['--namespace', 'Bad_NS'], 'd')).toThrow('setting --namespace has value "Bad_NS"');
    expect(() => parseDemoOptions(['--nope'], 'd')).toThrow("lull demo: Unknown option '--nope'");
  });

  it('deploys an ordinary app that opts in with annotations only', () => {
    const [ns, deployment, service] = sampleApp('lull-demo', '20s', '/repo/test/fixtures/http-app.ts') as any[];
    expect(ns.metadata.name).toBe('lull-demo');
    expect(deployment.metadata.annotations).toEqual({ 'lull.dev/enabled': 'true', 'lull.dev/idle-after': '20s' });
    expect(deployment.spec.template.spec.containers[0].command).toEqual(['node', '/repo/test/fixtures/http-app.ts', '--port', '8080']);
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http' }]);
  });

  it('knows what the manifests install', () => {
    const m = readManifests('kind: Namespace\nmetadata: {name: lull-system}\n---\nkind: Deployment\nmetadata: {name: lull-webhook, namespace: lull-system}\nspec: {replicas: 2, template: {spec: {serviceAccountName: lull-webhook}}}\n');
    expect(m).toEqual({ objects: 2, namespace: 'lull-system', parts: [{ namespace: 'lull-system', name: 'lull-webhook', replicas: 2, serviceAccount: 'lull-webhook' }] });
  });

  it("tells a wake's steps once each", () => {
    const event = (reason: string, kind = 'Deployment'): CoreV1Event => ({ metadata: {}, involvedObject: { kind, name: 'hello' }, reason, message: 'm', source: { component: 'lull-interceptor' } });
    expect(eventLine(event('Waking'), 'hello')).toBe('Waking (lull-interceptor): m');
    expect(eventLine(event('ScalingReplicaSet'), 'hello')).toBeUndefined();
    expect(eventLine(event('Waking', 'Pod'), 'hello')).toBeUndefined();
    const said = new Set<string>();
    const pod: V1Pod = { metadata: { name: 'hello-1' }, spec: { containers: [], nodeName: 'n' }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } };
    const lines: string[] = [];
    for (let line = podLine(pod, said); line; line = podLine(pod, said)) lines.push(line);
    expect(lines).toEqual(['pod hello-1 created', 'pod hello-1 scheduled', 'pod hello-1 running (app and sidecar started)', 'pod hello-1 ready']);
    expect(podLine(pod, said)).toBeUndefined();
  });

  it('summarizes a burst', () => {
    expect(summarize([{ status: 200, body: '', ms: 3 }, { status: 200, body: '', ms: 9 }, { status: 503, body: '', ms: 1 }])).toEqual({ count: 3, ok: 2, medianMs: 3, maxMs: 9 });
  });
});
