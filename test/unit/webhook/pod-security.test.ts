// The injected sidecar under Pod Security `restricted` and OpenShift's `restricted-v2` SCC. The rules are
// written out here from their documentation (no apiserver or OpenShift in a unit test); the e2e test
// (test/e2e/image.test.ts) has the real apiserver's PodSecurity admission admit an injected Deployment.
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { inject } from '../../../webhook/inject.ts';
import { sidecarSecurityContext } from '../../../webhook/sidecar.ts';
import { table } from './fixtures.ts';

/** Pod Security Standards, `restricted` profile (latest), for one container of a pod. */
function restrictedViolations(container: V1Container, pod: V1PodSpec): string[] {
  const sc = container.securityContext ?? {};
  const psc = pod.securityContext ?? {};
  const problems: string[] = [];
  if (sc.privileged) problems.push('privileged');
  if (sc.allowPrivilegeEscalation !== false) problems.push('allowPrivilegeEscalation != false');
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push('capabilities.drop lacks ALL');
  if ((sc.capabilities?.add ?? []).some((c) => c !== 'NET_BIND_SERVICE')) problems.push('capabilities.add beyond NET_BIND_SERVICE');
  if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) problems.push('runAsNonRoot != true');
  if ((sc.runAsUser ?? psc.runAsUser) === 0) problems.push('runAsUser=0');
  const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
  if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push('seccompProfile not RuntimeDefault/Localhost');
  if ((container.ports ?? []).some((p) => p.hostPort !== undefined && p.hostPort !== 0)) problems.push('hostPort');
  if (sc.procMount !== undefined && sc.procMount !== 'Default') problems.push('procMount');
  return problems;
}

/**
 * OpenShift `restricted-v2`: uid MustRunAsRange (a fixed runAsUser outside the namespace's range is
 * refused, so none is set), privilege escalation off, drop ALL (add at most NET_BIND_SERVICE),
 * seccomp runtime/default, no host ports or privileged mode.
 */
function restrictedV2Violations(container: V1Container): string[] {
  const sc = container.securityContext ?? {};
  const problems: string[] = [];
  if (sc.runAsUser !== undefined) problems.push(`fixed runAsUser ${sc.runAsUser}`);
  if (sc.privileged) problems.push('privileged');
  if (sc.allowPrivilegeEscalation !== false) problems.push('allowPrivilegeEscalation != false');
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push('requiredDropCapabilities ALL');
  if ((sc.capabilities?.add ?? []).some((c) => c !== 'NET_BIND_SERVICE')) problems.push('capabilities.add beyond NET_BIND_SERVICE');
  if (sc.seccompProfile !== undefined && sc.seccompProfile.type !== 'RuntimeDefault') problems.push('seccompProfile not runtime/default');
  if ((container.ports ?? []).some((p) => p.hostPort !== undefined && p.hostPort !== 0)) problems.push('hostPort');
  return problems;
}

const OPTIONS = { image: 'ghcr.io/lull-dev/lull:0.1.0', version: '0.1.0' };

function injectedSidecar(name: keyof typeof table): { sidecar: V1Container; pod: V1PodSpec } {
  const pod = inject(table[name], OPTIONS).spec!.template.spec!;
  return { sidecar: pod.initContainers!.find((c) => c.name === 'lull-sidecar')!, pod };
}

describe('the injected sidecar and pod security', () => {
  it('passes the restricted profile and restricted-v2 on every fixture Deployment', () => {
    for (const name of Object.keys(table) as (keyof typeof table)[]) {
      if (table[name] === table.worker) continue;
      const { sidecar, pod } = injectedSidecar(name);
      expect({ name, restricted: restrictedViolations(sidecar, pod), restrictedV2: restrictedV2Violations(sidecar) }).toEqual({ name, restricted: [], restrictedV2: [] });
    }
  });

  it('fixes no uid: the image’s non-root user applies, or the one OpenShift assigns', () => {
    const { sidecar } = injectedSidecar('web');
    expect(sidecar.securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('spells the image’s uid out only when the pod explicitly runs as root, so the sidecar still starts', () => {
    expect(sidecarSecurityContext({ runAsUser: 0, runAsGroup: 0 })).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532 });
    expect(sidecarSecurityContext({ runAsUser: 1000 }).runAsUser).toBeUndefined();
  });

  it('the checks catch what they claim to (a fixed uid, root, escalation, missing seccomp)', () => {
    const pod: V1PodSpec = { containers: [] };
    const bad: V1Container = { name: 'x', securityContext: { runAsUser: 0, allowPrivilegeEscalation: true, capabilities: { add: ['NET_ADMIN'] } } };
    expect(restrictedViolations(bad, pod)).toEqual(['allowPrivilegeEscalation != false', 'capabilities.drop lacks ALL', 'capabilities.add beyond NET_BIND_SERVICE', 'runAsNonRoot != true', 'runAsUser=0', 'seccompProfile not RuntimeDefault/Localhost']);
    expect(restrictedV2Violations(bad)).toContain('fixed runAsUser 0');
  });
});
