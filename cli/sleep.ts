// `lull sleep deploy/NAME`: the reconciler's own sleep, asked for now. The CLI cannot run the sleep
// itself (only the leader may, or it would race it), so it lowers lull.dev/idle-after to the minimum
// until the leader has put the app to sleep, then puts the user's value back: the sleep is decided
// and done exactly as an idle sleep, in the order that loses no request, never cutting one in flight.
import type { V1Deployment } from '@kubernetes/client-node';
import { IDLE_AFTER } from '../core/annotations.ts';
import { errors, lullError } from '../core/errors.ts';
import { isStatus, PATCH, type KubeClient } from '../core/kube-client.ts';
import { displayState } from './app-view.ts';
import { COMMON_USAGE, durationFlag, parseFlags } from './flags.ts';
import { humanDuration, preciseDuration } from '../core/duration.ts';
import { connect, contextNamespace } from './kubeconfig.ts';
import { resolveApp } from './resolve.ts';
import { runCommand } from './run.ts';
import { parseTarget } from './target.ts';
import { waitForDeployment } from './wait.ts';

export const USAGE = `usage: lull sleep deploy/NAME [-n NAMESPACE] [--timeout DURATION]

Puts an app to sleep as soon as nothing is in flight and nothing arrived for a second: the
reconciler routes its Services to the interceptor and scales it to zero, as after idle-after.
Its lull.dev/idle-after is lowered to 1s meanwhile and put back afterwards.

${COMMON_USAGE}
      --timeout <duration>  how long to wait for a quiet moment (1m)
`;

/** The shortest idle-after the annotation rules allow. */
export const SLEEP_SOON = '1s';
const POINTER = `/metadata/annotations/${IDLE_AFTER.replace(/~/g, '~0').replace(/\//g, '~1')}`;

export const asleep = (d: V1Deployment) => displayState(d) === 'sleeping';

/** Pure: the JSON patch that puts the user's idle-after back, only if it is still ours. */
export function restorePatch(original: string | undefined) {
  const test = { op: 'test', path: POINTER, value: SLEEP_SOON };
  return original === undefined ? [test, { op: 'remove', path: POINTER }] : [test, { op: 'replace', path: POINTER, value: original }];
}

async function setIdleAfter(client: KubeClient, namespace: string, name: string, value: string): Promise<void> {
  await client.request('PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`, { body: { metadata: { annotations: { [IDLE_AFTER]: value } } }, contentType: PATCH.merge });
}

/** False when someone changed it meanwhile: theirs stays. */
async function restoreIdleAfter(client: KubeClient, namespace: string, name: string, original: string | undefined): Promise<boolean> {
  try {
    await client.request('PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`, { body: restorePatch(original), contentType: PATCH.json });
    return true;
  } catch (err) {
    if (isStatus(err, 409, 422, 404)) return false;
    throw err;
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
    const original = deployment.metadata?.annotations?.[IDLE_AFTER];
    const ours = original !== SLEEP_SOON;
    const started = performance.now();
    const restore = async () => {
      if (!ours) return;
      if (!(await restoreIdleAfter(client, namespace, name, original))) process.stderr.write(`lull sleep: ${IDLE_AFTER} was changed by someone else meanwhile; left as they set it\n`);
    };
    // Interrupted: the user's idle-after comes back before we go.
    const onSignal = () => void restore().finally(() => process.exit(130));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      if (ours) await setIdleAfter(client, namespace, name, SLEEP_SOON);
      process.stdout.write(`deploy/${name}: asked the reconciler to put it to sleep once idle for ${SLEEP_SOON}\n`);
      const slept = await waitForDeployment(kc, client, namespace, name, asleep, {
        what: 'go to sleep',
        timeoutMs,
        hint: () =>
          `it stays awake while requests keep arriving, and cannot sleep when no Service of its own selects it or no interceptor is ready; the reconciler's log says which: kubectl -n lull-system logs -l app.kubernetes.io/component=reconciler`,
      });
      const before = slept.metadata?.annotations?.['lull.dev/replicas-before-sleep'];
      process.stdout.write(`deploy/${name} is asleep after ${preciseDuration(performance.now() - started)}${before ? ` (scaled from ${before} to 0)` : ''}; its next request wakes it\n`);
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await restore();
    }
  });
}
