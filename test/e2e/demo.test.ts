// `npm run demo` runs to completion: the demo itself, with a short idle time, against Lull installed
// from deploy/ (isolated, see support/lull-from-deploy.ts, so it shares the cluster with other runs).
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clusterKubectl, onCluster } from './support/kube.ts';
import { REPO, run } from './support/kubectl.ts';
import { installIsolated, type Installed } from './support/lull-from-deploy.ts';

const ID = randomBytes(3).toString('hex');
const DEMO_NS = `lull-e2e-demo-${ID}`;

onCluster('npm run demo', () => {
  let installed: Installed | undefined;

  beforeAll(async () => {
    installed = await installIsolated(
      clusterKubectl(),
      { namespace: `lull-e2e-demo-lull-${ID}`, suffix: `-e2e-demo-${ID}`, selector: { key: 'kubernetes.io/metadata.name', value: DEMO_NS } },
      resolve(REPO, '.lull', 'e2e-demo', `lull-${ID}.yaml`),
    );
  });

  afterAll(async () => {
    await clusterKubectl().run(['delete', 'namespace', DEMO_NS, '--wait=false', '--ignore-not-found']);
    await installed?.uninstall();
  });

  it('narrates serving, idle, asleep, a held request, the wake and the answer, then the commands to try', async () => {
    const demo = await run(process.execPath, [resolve(REPO, 'bin/lull-dev.ts'), 'demo', '--idle-after', '3s', '--namespace', DEMO_NS, '--install', installed!.file]);
    const out = demo.stdout;
    expect(demo.stderr, `${out}\n${demo.stderr}`).toBe('');
    expect(demo.code, out).toBe(0);
    for (const step of ['[1/6] Start the local Kubernetes cluster', '[2/6] Install Lull', '[3/6] Deploy a sample app', '[4/6] Serving', '[5/6] Idle', '[6/6] A request arrives']) expect(out).toContain(step);
    expect(out).toMatch(/interceptor 2\/2, reconciler 2\/2, webhook 2\/2 running as pods/);
    expect(out).toMatch(/the webhook injected the sidecar \(lull\.dev\/injected=\d+\.\d+\.\d+\)/);
    expect(out).toMatch(/20 requests to http:\/\/[\d.]+\/: 20 answered 200/);
    expect(out).toMatch(/asleep after [\d.]+m?s without a request: lull\.dev\/state=sleeping, scaled from 1 to 0/);
    expect(out).toMatch(/EndpointSlice hello-lull → [1-9]\d* interceptor pods/);
    expect(out).toMatch(/Waking \(lull-interceptor\): Scaled from 0 to 1 for a held connection/);
    expect(out).toMatch(/answered 200 "hello from hello-[a-z0-9-]+" in [\d.]+m?s/);
    expect(out).toContain('awake: the interceptor slice is gone');
    expect(out).toContain('Try it yourself:');
    expect(out).toContain(`status -n ${DEMO_NS}`);
  }, 420_000);
});
