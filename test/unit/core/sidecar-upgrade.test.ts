import type { V1Deployment } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseAnnotations } from '../../../core/annotations.ts';
import { imageTag, injectedRelease, installedRelease, sidecarOutdated } from '../../../core/sidecar-upgrade.ts';
import { sidecarDrift } from '../../../cli/sidecar-drift.ts';
import { upgradeDue } from '../../../reconciler/upgrade.ts';
import { annotationProblems } from '../../../webhook/annotation-problems.ts';

const ROOT = resolve(import.meta.dirname, '../../..');

function webhookWith(image: string, args: string[], labels?: Record<string, string>): V1Deployment {
  return { metadata: { name: 'lull-webhook', ...(labels ? { labels } : {}) }, spec: { selector: {}, template: { spec: { containers: [{ name: 'webhook', image, args: ['webhook', ...args] }] } } } };
}

function app(version: string, image: string, annotations: Record<string, string> = {}): V1Deployment {
  return {
    metadata: { name: 'web', namespace: 'shop', annotations: { 'lull.dev/injected': version, ...annotations } },
    spec: { selector: {}, template: { spec: { initContainers: [{ name: 'lull-sidecar', image }], containers: [] } } },
  };
}

describe('the installed release and the injected one', () => {
  it('reads what the webhook of deploy/ injects: its --sidecar-image, and the version of its image', () => {
    const deployed = parse(readFileSync(resolve(ROOT, 'deploy/base/webhook/deployment.yaml'), 'utf8')) as V1Deployment;
    const version = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(installedRelease(deployed)).toEqual({ version, image: `ghcr.io/lull-dev/lull:${version}` });
    expect(installedRelease(webhookWith('ghcr.io/lull-dev/lull@sha256:ab', ['--sidecar-image', 'ghcr.io/lull-dev/lull@sha256:ab'], { 'app.kubernetes.io/version': '0.3.0' })))
      .toEqual({ version: '0.3.0', image: 'ghcr.io/lull-dev/lull@sha256:ab' });
    expect(installedRelease(webhookWith('reg.local/lull:0.2.0', ['--sidecar-version=0.2.1']))).toEqual({ version: '0.2.1', image: 'ghcr.io/lull-dev/lull:0.2.1' });
    expect(installedRelease(webhookWith('reg.local/lull@sha256:ab', []))).toBeUndefined();
  });

  it('reads tags, not registry ports', () => {
    expect(imageTag('localhost:5000/lull')).toBeUndefined();
    expect(imageTag('localhost:5000/lull:0.2.0')).toBe('0.2.0');
  });

  it('calls a sidecar outdated when its version or its image differs', () => {
    const installed = { version: '0.2.0', image: 'ghcr.io/lull-dev/lull:0.2.0' };
    expect(sidecarOutdated(injectedRelease(app('0.1.0', 'ghcr.io/lull-dev/lull:0.1.0')), installed)).toBe(true);
    expect(sidecarOutdated(injectedRelease(app('0.2.0', 'mirror.local/lull:0.2.0')), installed)).toBe(true);
    expect(sidecarOutdated(injectedRelease(app('0.2.0', 'ghcr.io/lull-dev/lull:0.2.0')), installed)).toBe(false);
    expect(sidecarOutdated(undefined, installed)).toBe(false);
  });
});

describe('upgrading sidecars', () => {
  it('lull status says how to roll an outdated app, or that the reconciler will', () => {
    const installed = { version: '0.2.0', image: 'ghcr.io/lull-dev/lull:0.2.0' };
    expect(sidecarDrift(app('0.1.0', 'ghcr.io/lull-dev/lull:0.1.0'), installed)).toEqual({
      code: 'LULL_SIDECAR_OUTDATED',
      effect: 'outdated',
      message: 'its sidecar is Lull 0.1.0, the installed Lull injects 0.2.0: roll it with kubectl rollout restart deployment/web -n shop, or annotate it lull.dev/auto-upgrade-sidecar=true',
    });
    expect(sidecarDrift(app('0.1.0', 'ghcr.io/lull-dev/lull:0.1.0', { 'lull.dev/auto-upgrade-sidecar': 'true' }), installed)?.message).toMatch(/: the reconciler rolls it \(lull.dev\/auto-upgrade-sidecar\)$/);
    expect(sidecarDrift(app('0.2.0', 'ghcr.io/lull-dev/lull:0.2.0'), installed)).toBeUndefined();
    expect(sidecarDrift(app('0.1.0', 'ghcr.io/lull-dev/lull:0.1.0'), undefined)).toBeUndefined();
  });

  it('the reconciler upgrades only apps that ask, and only when the versions differ', () => {
    expect(upgradeDue({ 'lull.dev/injected': '0.1.0', 'lull.dev/auto-upgrade-sidecar': 'true' }, '0.2.0')).toBe(true);
    expect(upgradeDue({ 'lull.dev/injected': '0.1.0', 'lull.dev/auto-upgrade-sidecar': 'false' }, '0.2.0')).toBe(false);
    expect(upgradeDue({ 'lull.dev/injected': '0.1.0' }, '0.2.0')).toBe(false);
    expect(upgradeDue({ 'lull.dev/injected': '0.2.0', 'lull.dev/auto-upgrade-sidecar': 'true' }, '0.2.0')).toBe(false);
    expect(upgradeDue({ 'lull.dev/auto-upgrade-sidecar': 'true' }, '0.2.0')).toBe(false);
  });

  it('the webhook refuses a value of lull.dev/auto-upgrade-sidecar other than true or false, naming what is allowed', () => {
    expect(annotationProblems({ 'lull.dev/auto-upgrade-sidecar': 'yes' }, undefined)).toEqual([{ key: 'lull.dev/auto-upgrade-sidecar', value: 'yes', allowed: '"true" or "false"' }]);
    expect(annotationProblems({ 'lull.dev/auto-upgrade-sidecar': 'true' }, undefined)).toEqual([]);
    expect(parseAnnotations({ 'lull.dev/auto-upgrade-sidecar': 'true' }).autoUpgradeSidecar).toBe(true);
    expect(parseAnnotations({}).autoUpgradeSidecar).toBe(false);
  });
});
