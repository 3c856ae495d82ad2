// `lull demo` (npm run demo): wires the local cluster, the Kubernetes clients and the story's steps.
import { resolve } from 'node:path';
import { kubeClient } from '../core/kube-client.ts';
import { down, up } from '../test/cluster/cluster.ts';
import { clusterLayout } from '../test/cluster/layout.ts';
import { liveUsers, register, unregister } from '../test/cluster/sharing.ts';
import { preciseDuration } from '../core/duration.ts';
import { loadCliKubeconfig } from '../cli/kubeconfig.ts';
import { runCommand } from '../cli/run.ts';
import { kubectlRunner } from './kubectl.ts';
import { narrator } from './narrator.ts';
import { parseDemoOptions, USAGE } from './options.ts';
import { deployApp, idle, installLull, serve, summary, wake, type Facts, type Story } from './story.ts';

const REPO = resolve(import.meta.dirname, '..');

export async function main(argv: string[]): Promise<number> {
  return runCommand('demo', async () => {
    const options = parseDemoOptions(argv, resolve(REPO, 'deploy'));
    if (options.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const say = narrator(process.stdout, 6);
    const started = performance.now();
    say.raw('Lull demo: an ordinary Deployment that sleeps at zero replicas when idle and wakes on its first request.');

    say.step('Start the local Kubernetes cluster (npm run cluster -- up)');
    const layout = clusterLayout();
    // Registered as a user, so a test run finishing meanwhile does not stop the cluster under the demo.
    await register(layout);
    let startedHere = false;
    try {
      const t0 = performance.now();
      const cluster = await up({ layout, progress: (line) => say.detail(line) });
      startedHere = !cluster.alreadyRunning;
      // A cluster a test run started stays that run's to stop (the demo's own e2e test runs it there).
      say.done(cluster.alreadyRunning ? 'reusing the running cluster' : 'cluster up: etcd, kube-apiserver, controller-manager, scheduler, kube-proxy and a process kubelet', performance.now() - t0);

      const kc = loadCliKubeconfig({ kubeconfig: cluster.kubeconfig });
      const story: Story = { say, kubectl: kubectlRunner(cluster.kubectl, cluster.kubeconfig), kc, client: kubeClient(kc), options, repo: REPO };
      const facts: Facts = {};
      await installLull(story, facts);
      await deployApp(story, facts);
      await serve(story, facts);
      await idle(story, facts);
      await wake(story, facts);

      const takeDown = options.down && startedHere && (await liveUsers(layout)).every((pid) => pid === process.pid);
      summary(story, facts, cluster, !takeDown);
      if (options.down && !takeDown) say.raw(`\n--down: the cluster was already running before the demo (or a test run uses it), so it stays up; the demo's namespace ${options.namespace} is removed.`);
      if (options.down && !takeDown) await story.kubectl(['delete', 'namespace', options.namespace, '--wait=false']);
      if (takeDown) {
        say.blank();
        await down({ layout, progress: (line) => say.detail(line) });
      }
      say.raw(`\nThe demo took ${preciseDuration(performance.now() - started)}.`);
      return 0;
    } finally {
      await unregister(layout);
    }
  });
}
