// `lull wake deploy/NAME`: what a request to a sleeping app does, without the request: the
// interceptor's guarded scale from zero; the reconciler then finishes the wake as for any other.
import { hostname } from 'node:os';
import type { V1Deployment } from '@kubernetes/client-node';
import { EVENT_REASONS, eventRecorder, postEvent } from '../core/events.ts';
import { errors, lullError } from '../core/errors.ts';
import { PATCH, type KubeClient } from '../core/kube-client.ts';
import { isTestFailure, scalePatch, wakeReplicas } from '../core/wake.ts';
import { appView, displayState } from './app-view.ts';
import { COMMON_USAGE, durationFlag, parseFlags } from './flags.ts';
import { preciseDuration } from '../core/duration.ts';
import { connect, contextNamespace } from './kubeconfig.ts';
import { readClusterDefaults } from './read.ts';
import { resolveApp } from './resolve.ts';
import { runCommand } from './run.ts';
import { parseTarget } from './target.ts';
import { waitForDeployment } from './wait.ts';

export const USAGE = `usage: lull wake deploy/NAME [-n NAMESPACE] [--no-wait] [--timeout DURATION]

Wakes a sleeping app now, as its first request would: scales it from zero to the replicas it had
(else lull.dev/wake-replicas), then waits until it is awake and serving directly again.

${COMMON_USAGE}
      --no-wait             return once it is scaled up
      --timeout <duration>  how long to wait (the app's lull.dev/hold-timeout)
`;

const awake = (d: V1Deployment) => displayState(d) === 'awake' && (d.status?.readyReplicas ?? 0) > 0;

/** Scales it up from zero, guarded like the interceptor's: 'lost' when someone else woke it first. */
export async function scaleUpFromZero(client: KubeClient, deployment: V1Deployment): Promise<{ result: 'scaled' | 'lost'; replicas: number }> {
  const { namespace, name } = deployment.metadata as { namespace: string; name: string };
  const replicas = wakeReplicas(deployment.metadata?.annotations);
  try {
    await client.request('PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/${name}/scale`, { body: scalePatch(replicas), contentType: PATCH.json });
  } catch (err) {
    if (isTestFailure(err)) return { result: 'lost', replicas };
    throw err;
  }
  // Best effort, so `kubectl describe` tells who woke it.
  const record = eventRecorder(postEvent(client), { component: 'lull-cli', instance: hostname() });
  await record({ namespace, name, ...(deployment.metadata?.uid ? { uid: deployment.metadata.uid } : {}) }, EVENT_REASONS.waking, `Scaled from 0 to ${replicas} by \`lull wake\``);
  return { result: 'scaled', replicas };
}

export async function main(argv: string[]): Promise<number> {
  return runCommand('wake', async () => {
    const { values, positionals } = parseFlags('wake', argv, { 'no-wait': { type: 'boolean' }, timeout: { type: 'string' } });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const name = parseTarget('wake', positionals);
    if (values['all-namespaces']) throw lullError(errors.cliUsage, 'lull wake acts on one app: use -n NAMESPACE, not -A');
    const { kc, client } = await connect(values);
    const namespace = values.namespace ?? contextNamespace(kc);
    const deployment = await resolveApp(client, namespace, name);
    const ready = (d: V1Deployment) => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1} ready`;
    if (awake(deployment)) {
      process.stdout.write(`deploy/${name} is already awake (${ready(deployment)})\n`);
      return 0;
    }
    const started = performance.now();
    if ((deployment.spec?.replicas ?? 1) === 0) {
      const { result, replicas } = await scaleUpFromZero(client, deployment);
      process.stdout.write(result === 'scaled' ? `deploy/${name} scaled from 0 to ${replicas}\n` : `deploy/${name} was being woken already\n`);
    } else {
      process.stdout.write(`deploy/${name} is waking already\n`);
    }
    if (values['no-wait']) return 0;
    const defaults = (await readClusterDefaults(client)).settings;
    const timeoutMs = durationFlag('--timeout', values.timeout, appView(deployment, defaults).settings.holdTimeoutMs);
    const woken = await waitForDeployment(client, namespace, name, awake, {
      what: 'wake up',
      timeoutMs,
      hint: (last) => `${last ? ready(last) : 'no news'}; kubectl describe -n ${namespace} deploy/${name} shows its Events`,
    });
    process.stdout.write(`deploy/${name} is awake after ${preciseDuration(performance.now() - started)} (${ready(woken)})\n`);
    return 0;
  });
}
