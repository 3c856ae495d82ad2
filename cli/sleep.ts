// `lull sleep deploy/NAME`: the reconciler's own sleep, asked for now. The CLI cannot run the sleep
// itself (only the leader may, or it would race it), so it sets the request lull.dev/sleep-requested-at
// (core/sleep-request.ts) and waits: the leader decides and does the sleep exactly as an idle sleep,
// in the order that loses no request, never cutting one in flight, and clears the request.
import type { V1Deployment } from '@kubernetes/client-node';
import { SLEEP_REQUESTED_AT } from '../core/annotations.ts';
import { errors, lullError } from '../core/errors.ts';
import { isStatus, PATCH, type KubeClient } from '../core/kube-client.ts';
import { displayState } from './app-view.ts';
import { COMMON_USAGE, durationFlag, parseFlags } from './flags.ts';
import { formatDuration, humanDuration, preciseDuration } from '../core/duration.ts';
import { SLEEP_REQUEST_IDLE_MS } from '../core/sleep-request.ts';
import { connect, contextNamespace } from './kubeconfig.ts';
import { resolveApp } from './resolve.ts';
import { runCommand } from './run.ts';
import { parseTarget } from './target.ts';
import { waitForDeployment } from './wait.ts';

export const USAGE = `usage: lull sleep deploy/NAME [-n NAMESPACE] [--timeout DURATION]

Puts an app to sleep as soon as nothing is in flight and nothing arrived for a second: the
reconciler routes its Services to the interceptor and scales it to zero, as after idle-after.
It asks through the annotation lull.dev/sleep-requested-at, which the reconciler clears once
the app is asleep (and lull sleep withdraws if it gives up waiting).

${COMMON_USAGE}
      --timeout <duration>  how long to wait for a quiet moment (1m)
`;

const POINTER = `/metadata/annotations/${SLEEP_REQUESTED_AT.replace(/~/g, '~0').replace(/\//g, '~1')}`;

export const asleep = (d: V1Deployment) => displayState(d) === 'sleeping';

/** Pure: the JSON patch that withdraws the request, only if it is still the one made. */
export function withdrawPatch(requestedAt: string) {
  return [
    { op: 'test', path: POINTER, value: requestedAt },
    { op: 'remove', path: POINTER },
  ];
}

async function request(client: KubeClient, namespace: string, name: string, requestedAt: string): Promise<void> {
  await client.request('PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`, { body: { metadata: { annotations: { [SLEEP_REQUESTED_AT]: requestedAt } } }, contentType: PATCH.merge });
}

/** Gone already (the reconciler cleared it, or someone else's request replaced it): nothing to withdraw. */
async function withdraw(client: KubeClient, namespace: string, name: string, requestedAt: string): Promise<void> {
  try {
    await client.request('PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`, { body: withdrawPatch(requestedAt), contentType: PATCH.json });
  } catch (err) {
    if (!isStatus(err, 409, 422, 404)) throw err;
  }
}

export async function main(argv: string[]): Promise<number> {
  return runCommand('sleep', async () => {
    const { values, positionals } = parseFlags('sleep', argv, { timeout: { type: 'string' } });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const name = parseTarget('sleep', positionals);
    if (values['all-namespaces']) throw lullError(errors.cliUsage, 'lull sleep acts on one app: use -n NAMESPACE, not -A');
    const timeoutMs = durationFlag('--timeout', values.timeout, 60_000);
    const { kc, client } = await connect(values);
    const namespace = values.namespace ?? contextNamespace(kc);
    const deployment = await resolveApp(client, namespace, name);
    if (asleep(deployment)) {
      const since = deployment.metadata?.annotations?.['lull.dev/slept-at'];
      process.stdout.write(`deploy/${name} is already asleep${since ? ` (for ${humanDuration(Date.now() - Date.parse(since))})` : ''}\n`);
      return 0;
    }
    const requestedAt = new Date().toISOString();
    const started = performance.now();
    let done = false;
    // Given up or interrupted: the request does not outlive the command.
    const cancel = async () => {
      if (!done) await withdraw(client, namespace, name, requestedAt);
    };
    const onSignal = () => void cancel().finally(() => process.exit(130));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await request(client, namespace, name, requestedAt);
      process.stdout.write(`deploy/${name}: asked the reconciler to put it to sleep once idle for ${formatDuration(SLEEP_REQUEST_IDLE_MS)}\n`);
      const slept = await waitForDeployment(client, namespace, name, asleep, {
        what: 'go to sleep',
        timeoutMs,
        hint: () =>
          `it stays awake while requests keep arriving, and cannot sleep when no Service of its own selects it or no interceptor is ready; the reconciler's log says which: kubectl -n lull-system logs -l app.kubernetes.io/component=reconciler`,
      });
      done = true;
      const before = slept.metadata?.annotations?.['lull.dev/replicas-before-sleep'];
      process.stdout.write(`deploy/${name} is asleep after ${preciseDuration(performance.now() - started)}${before ? ` (scaled from ${before} to 0)` : ''}; its next request wakes it\n`);
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await cancel();
    }
  });
}
