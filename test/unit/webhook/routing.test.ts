import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { ORIGINAL_TARGET_PORTS } from '../../../core/annotations.ts';
import { backendOf, selects } from '../../../webhook/backends.ts';
import { servicePatch } from '../../../webhook/routing.ts';
import { multi, service, stored, web, withDefaults } from './fixtures.ts';

/** Admission of a Service: the patch the webhook answers, applied. */
function admit(svc: V1Service, deployments: V1Deployment[], old?: V1Service): V1Service {
  const patch = servicePatch(svc, old, deployments.map(backendOf));
  return jsonpatch.applyPatch(structuredClone(svc), patch, true, false).newDocument;
}

const rollingOut = (d: V1Deployment): V1Deployment => ({ ...d, status: { ...d.status, replicas: 3, updatedReplicas: 1 } });
const webSvc = service('web', { app: 'web' }, [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
const originals = (svc: V1Service) => JSON.parse(svc.metadata!.annotations![ORIGINAL_TARGET_PORTS]!);

describe('Service routing', () => {
  it('points a named targetPort of a fronted app port at the sidecar port, keeping the original', () => {
    const out = admit(webSvc, [stored(web)]);
    expect(out.spec!.ports![0]!.targetPort).toBe('lull-8080');
    expect(originals(out)).toEqual({ 80: 'http' });
  });

  it('rewrites numeric targetPorts and leaves ports that are not fronted or not TCP', () => {
    const svc = service('orders', { app: 'orders' }, [
      { name: 'api', port: 80, targetPort: 3000, protocol: 'TCP' },
      { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' },
      { name: 'debug', port: 5005, targetPort: 5005, protocol: 'TCP' },
      { name: 'udp', port: 3000, targetPort: 3000, protocol: 'UDP' },
    ]);
    const out = admit(svc, [stored(multi)]);
    expect(out.spec!.ports!.map((p) => p.targetPort)).toEqual(['lull-3000', 'lull-9090', 5005, 3000]);
    expect(originals(out)).toEqual({ 80: 3000, 9090: 'metrics' });
  });

  it('is idempotent', () => {
    const once = admit(webSvc, [stored(web)]);
    expect(servicePatch(once, once, [backendOf(stored(web))])).toEqual([]);
  });

  it('waits for the rollout before routing a port for the first time', () => {
    expect(servicePatch(webSvc, undefined, [backendOf(rollingOut(stored(web)))])).toEqual([]);
  });

  it('keeps routing during a rollout (a new Lull version) and through a GitOps re-apply of the original', () => {
    const routed = admit(webSvc, [stored(web)]);
    const reapplied = structuredClone(routed);
    reapplied.spec!.ports![0]!.targetPort = 'http';
    const out = admit(reapplied, [rollingOut(stored(web))], routed);
    expect(out).toEqual(routed);
  });

  it('takes a targetPort the user changed as the new original', () => {
    const routed = admit(service('orders', { app: 'orders' }, [{ name: 'api', port: 80, targetPort: 3000, protocol: 'TCP' }]), [stored(multi)]);
    const edited = structuredClone(routed);
    edited.spec!.ports![0]!.targetPort = 'metrics';
    const out = admit(edited, [stored(multi)], routed);
    expect(out.spec!.ports![0]!.targetPort).toBe('lull-9090');
    expect(originals(out)).toEqual({ 80: 'metrics' });
  });

  it('restores the original targetPorts and drops the record when the Deployment opts out', () => {
    const routed = admit(webSvc, [stored(web)]);
    expect(admit(routed, [withDefaults(web)], routed)).toEqual(webSvc);
    expect(admit(routed, [], routed)).toEqual(webSvc);
  });

  it('leaves a Service alone when it also selects pods without the sidecar, or selects nothing', () => {
    const other = { ...withDefaults(web), metadata: { ...web.metadata, name: 'web-canary' } };
    expect(servicePatch(webSvc, undefined, [backendOf(stored(web)), backendOf(other)])).toEqual([]);
    const headless = service('web', undefined, [{ port: 80, targetPort: 'http', protocol: 'TCP' }]);
    expect(servicePatch(headless, undefined, [backendOf(stored(web))])).toEqual([]);
  });

  it('only considers Deployments of the Service’s own namespace', () => {
    const elsewhere = stored(web);
    elsewhere.metadata!.namespace = 'other';
    expect(servicePatch(webSvc, undefined, [backendOf(elsewhere)])).toEqual([]);
  });
});

describe('selects', () => {
  it('matches when every selector pair is among the labels', () => {
    expect(selects({ app: 'web' }, { app: 'web', tier: 'web' })).toBe(true);
    expect(selects({ app: 'web', tier: 'db' }, { app: 'web', tier: 'web' })).toBe(false);
    expect(selects({}, { app: 'web' })).toBe(false);
    expect(selects(undefined, { app: 'web' })).toBe(false);
  });
});

describe('backendOf', () => {
  it('reads the fronted ports from the stored sidecar', () => {
    const backend = backendOf(stored(multi));
    expect(backend).toMatchObject({ namespace: 'shop', name: 'orders', injected: true, rolledOut: true });
    expect([...backend.fronted]).toEqual([
      [3000, 'lull-3000'],
      [9090, 'lull-9090'],
    ]);
    expect(backend.portNames.get('metrics')).toBe(9090);
    expect(backendOf(withDefaults(multi)).injected).toBe(false);
  });
});
