import type { V1Deployment } from '@kubernetes/client-node';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { INJECTED, ORIGINAL_GRACE_PERIOD } from '../../../core/annotations.ts';
import { SIDECAR_CONTAINER_NAME } from '../../../core/sidecar-contract.ts';
import { deploymentPatch } from '../../../webhook/deployment-patch.ts';
import type { InjectOptions } from '../../../webhook/inject.ts';
import { table, withDefaults } from './fixtures.ts';

const v1: InjectOptions = { image: 'ghcr.io/lull-dev/lull:0.1.0', version: '0.1.0' };
const v2: InjectOptions = { image: 'ghcr.io/lull-dev/lull:0.2.0', version: '0.2.0' };

function apply(d: V1Deployment, patch: Operation[]): V1Deployment {
  // validate=true: every path must exist as the apiserver requires.
  return jsonpatch.applyPatch(structuredClone(d), patch, true, false).newDocument;
}

/** Admission as the apiserver runs it: defaults, webhook patch, defaults again. */
function admit(d: V1Deployment, decision: 'inject' | 'strip', options = v1): V1Deployment {
  const admitted = withDefaults(d);
  return withDefaults(apply(admitted, deploymentPatch(admitted, decision, options)));
}

const sidecarOf = (d: V1Deployment) => d.spec!.template.spec!.initContainers!.find((c) => c.name === SIDECAR_CONTAINER_NAME)!;
const env = (d: V1Deployment, name: string) => sidecarOf(d).env!.find((e) => e.name === name)?.value;

interface Expected {
  ports: string;
  admin: number;
  sidecarIndex: number;
  hooked: string[];
  grace: number;
  record?: { was: number | null; set: number };
  readiness?: unknown;
}

const expected: Record<Exclude<keyof typeof table, 'worker'>, Expected> = {
  web: {
    ports: '9931=8080',
    admin: 9930,
    sidecarIndex: 0,
    hooked: ['web'],
    grace: 40,
    record: { was: 30, set: 40 },
    readiness: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
  },
  multi: { ports: '9931=3000,9932=9090', admin: 9930, sidecarIndex: 1, hooked: ['api', 'worker'], grace: 60 },
  ownPreStop: { ports: '9931=8080', admin: 9930, sidecarIndex: 0, hooked: [], grace: 45 },
  portClash: {
    ports: '9934=9931,9935=9930',
    admin: 9933,
    sidecarIndex: 0,
    hooked: ['app'],
    grace: 40,
    record: { was: 30, set: 40 },
    readiness: { httpGet: { path: '/ready', port: 9932, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
  },
  dns: { ports: '9931=53', admin: 9930, sidecarIndex: 0, hooked: ['coredns'], grace: 40, record: { was: 5, set: 40 } },
  meshed: { ports: '9931=50051', admin: 9930, sidecarIndex: 1, hooked: ['app'], grace: 40, record: { was: 30, set: 40 } },
};

describe.each(Object.entries(table).filter(([name]) => name !== 'worker'))('Deployment %s', (name, original) => {
  const want = expected[name as keyof typeof expected];
  const injected = admit(original, 'inject');

  it('gets the sidecar as a native sidecar fronting its TCP ports', () => {
    const spec = injected.spec!.template.spec!;
    const sidecar = sidecarOf(injected);
    expect(spec.initContainers!.indexOf(sidecar)).toBe(want.sidecarIndex);
    expect(sidecar.restartPolicy).toBe('Always');
    expect(sidecar.image).toBe(v1.image);
    expect(sidecar.args).toEqual(['sidecar']);
    expect(env(injected, 'LULL_PORTS')).toBe(want.ports);
    expect(env(injected, 'LULL_ADMIN_PORT')).toBe(String(want.admin));
    expect(sidecar.readinessProbe!.httpGet).toMatchObject({ path: '/lull/ready', port: want.admin });
    expect(sidecar.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(sidecar.resources!.requests).toBeDefined();
    const readiness = env(injected, 'LULL_APP_READINESS');
    expect(readiness === undefined ? undefined : JSON.parse(readiness)).toEqual(want.readiness);
    for (const pair of want.ports ? want.ports.split(',') : []) {
      const [listen, app] = pair.split('=').map(Number);
      expect(sidecar.ports).toContainEqual({ name: `lull-${app}`, containerPort: listen, protocol: 'TCP' });
    }
  });

  it('waits for the drain before stopping app containers, keeping a preStop of their own', () => {
    const spec = injected.spec!.template.spec!;
    for (const container of spec.containers) {
      const originalHook = original.spec!.template.spec!.containers.find((c) => c.name === container.name)!.lifecycle?.preStop;
      if (want.hooked.includes(container.name)) {
        expect(container.lifecycle!.preStop).toEqual({ httpGet: { path: '/lull/drain', port: want.admin, scheme: 'HTTP' } });
      } else {
        expect(container.lifecycle!.preStop).toEqual(originalHook);
      }
    }
    expect(spec.terminationGracePeriodSeconds).toBe(want.grace);
  });

  it('records the version and what it changed', () => {
    expect(injected.metadata!.annotations![INJECTED]).toBe('0.1.0');
    const record = injected.metadata!.annotations![ORIGINAL_GRACE_PERIOD];
    expect(record === undefined ? undefined : JSON.parse(record)).toEqual(want.record);
  });

  it('is idempotent: re-admitting the stored object changes nothing', () => {
    expect(deploymentPatch(injected, 'inject', v1)).toEqual([]);
  });

  it('updates only the sidecar image and the recorded version for a new Lull version', () => {
    const patch = deploymentPatch(injected, 'inject', v2);
    expect(patch.map((op) => op.path).sort()).toEqual([`/metadata/annotations/lull.dev~1injected`, `/spec/template/spec/initContainers/${want.sidecarIndex}/image`]);
    expect(deploymentPatch(admit(injected, 'inject', v2), 'inject', v2)).toEqual([]);
  });

  it('opting out restores exactly what was there', () => {
    expect(admit(injected, 'strip')).toEqual(withDefaults(original));
    expect(deploymentPatch(withDefaults(original), 'strip', v1)).toEqual([]);
  });
});

describe('Deployment patches against later user changes', () => {
  const injected = admit(table.web, 'inject');

  it('keeps a grace period the user changed after injection when opting out', () => {
    const edited = structuredClone(injected);
    edited.spec!.template.spec!.terminationGracePeriodSeconds = 90;
    const out = admit(edited, 'strip');
    expect(out.spec!.template.spec!.terminationGracePeriodSeconds).toBe(90);
    expect(out.metadata!.annotations![ORIGINAL_GRACE_PERIOD]).toBeUndefined();
  });

  it('re-records a grace period the user lowered again', () => {
    const edited = structuredClone(injected);
    edited.spec!.template.spec!.terminationGracePeriodSeconds = 20;
    const out = admit(edited, 'inject');
    expect(out.spec!.template.spec!.terminationGracePeriodSeconds).toBe(40);
    expect(JSON.parse(out.metadata!.annotations![ORIGINAL_GRACE_PERIOD]!)).toEqual({ was: 20, set: 40 });
  });

  it('rebuilds the sidecar when the app gains a port, and re-injects one the user deleted', () => {
    const edited = structuredClone(injected);
    edited.spec!.template.spec!.containers[0]!.ports!.push({ name: 'grpc', containerPort: 9000, protocol: 'TCP' });
    expect(env(admit(edited, 'inject'), 'LULL_PORTS')).toBe('9931=8080,9932=9000');
    const deleted = structuredClone(injected);
    delete deleted.spec!.template.spec!.initContainers;
    expect(admit(deleted, 'inject')).toEqual(injected);
  });

  it('leaves a user preStop added after injection alone, also on opt-out', () => {
    const edited = structuredClone(injected);
    edited.spec!.template.spec!.containers[0]!.lifecycle = { preStop: { exec: { command: ['sleep', '3'] } } };
    const out = admit(edited, 'strip');
    expect(out.spec!.template.spec!.containers[0]!.lifecycle).toEqual({ preStop: { exec: { command: ['sleep', '3'] } } });
  });

  it('leaves a Deployment without TCP ports as it is: nothing could wake it', () => {
    expect(deploymentPatch(withDefaults(table.worker), 'inject', v1)).toEqual([]);
  });

  it('gives the sidecar no app probe whose named port it could not resolve (it connects to the port instead)', () => {
    const edited = structuredClone(table.web);
    edited.spec!.template.spec!.containers[0]!.readinessProbe = { httpGet: { path: '/', port: 'nope' } };
    expect(env(admit(edited, 'inject'), 'LULL_APP_READINESS')).toBeUndefined();
  });

  it('gives the sidecar the resources and pull policy it is told, and rebuilds it when they change', () => {
    const options = { ...v1, pullPolicy: 'Always', resources: { requests: { cpu: '5m', memory: '32Mi' } } };
    const injected = admit(table.web, 'inject', options);
    expect(sidecarOf(injected).imagePullPolicy).toBe('Always');
    expect(sidecarOf(injected).resources).toEqual({ requests: { cpu: '5m', memory: '32Mi' } });
    expect(sidecarOf(admit(table.web, 'inject')).resources).toEqual({ requests: { cpu: '10m', memory: '48Mi' }, limits: { memory: '256Mi' } });
    expect(sidecarOf(admit(injected, 'inject')).resources).toEqual({ requests: { cpu: '10m', memory: '48Mi' }, limits: { memory: '256Mi' } });
  });

  it('adds the sidecar\'s pull secrets the pod lacks, records them, and takes only those away on opt-out', () => {
    const options = { ...v1, pullSecrets: ['lull-pull', 'shared'] };
    const own = structuredClone(table.web);
    own.spec!.template.spec!.imagePullSecrets = [{ name: 'shared' }];
    const injected = admit(own, 'inject', options);
    expect(injected.spec!.template.spec!.imagePullSecrets).toEqual([{ name: 'shared' }, { name: 'lull-pull' }]);
    expect(injected.metadata!.annotations!['lull.dev/added-pull-secrets']).toBe('lull-pull');
    expect(admit(injected, 'inject', options)).toEqual(injected);
    const stripped = admit(injected, 'strip');
    expect(stripped.spec!.template.spec!.imagePullSecrets).toEqual([{ name: 'shared' }]);
    expect(stripped.metadata!.annotations?.['lull.dev/added-pull-secrets']).toBeUndefined();
    expect(admit(table.web, 'inject').spec!.template.spec!.imagePullSecrets).toBeUndefined();
  });

  it('changes nothing when told to leave', () => {
    expect(deploymentPatch(withDefaults(table.web), 'leave', v1)).toEqual([]);
  });
});
