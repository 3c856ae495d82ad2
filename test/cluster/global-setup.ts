// vitest globalSetup of the e2e project: reuse a healthy cluster a developer started (and leave it
// running), or start one and stop it afterwards, unless another test run still uses it. Tests read
// what it provides with `inject('kubeconfig')`, and skip when `inject('clusterSkipReason')` is not null.
import type { TestProject } from 'vitest/node';
import { down, up } from './cluster.ts';
import { clusterLayout } from './layout.ts';
import { prerequisiteProblems, problemError, type Problem } from './prerequisites.ts';
import { clearStartedByTests, markStartedByTests, register, unregister } from './sharing.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The admin kubeconfig of the local cluster; empty when the cluster could not run. */
    kubeconfig: string;
    /** The pinned kubectl; empty when the cluster could not run. */
    kubectl: string;
    /** Why e2e tests must skip on this machine (outside CI only); null when the cluster is up. */
    clusterSkipReason: string | null;
  }
}

export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false';
}

function warnLoudly(problems: readonly Problem[]): void {
  const rule = '='.repeat(78);
  const lines = [
    rule,
    '  LULL E2E TESTS ARE SKIPPED: the local cluster cannot run on this machine.',
    ...problems.map((p) => `    - it needs ${p.what}: ${p.why}`),
    '  Run them as root on Linux (as CI does). With CI=true this is an error instead.',
    rule,
  ];
  process.stderr.write(`\n${lines.join('\n')}\n\n`);
}

/** Why e2e suites skip on this machine (said loudly), or null when nothing is missing; in CI a missing prerequisite is an error. */
export function skipReason(problems: readonly Problem[], env: NodeJS.ProcessEnv = process.env, warn = warnLoudly): string | null {
  if (problems.length === 0) return null;
  if (isCI(env)) throw problemError(problems[0]!);
  warn(problems);
  return problems.map((p) => `needs ${p.what}`).join('; ');
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const reason = skipReason(await prerequisiteProblems());
  if (reason !== null) {
    project.provide('kubeconfig', '');
    project.provide('kubectl', '');
    project.provide('clusterSkipReason', reason);
    return undefined;
  }

  const layout = clusterLayout();
  const progress = (line: string) => process.stderr.write(`[lull cluster] ${line}\n`);
  // Registered before `up`, so a run finishing meanwhile does not stop the cluster under us.
  await register(layout);
  let result: Awaited<ReturnType<typeof up>>;
  try {
    result = await up({ layout, progress });
  } catch (err) {
    await unregister(layout);
    throw err;
  }
  if (!result.alreadyRunning) await markStartedByTests(layout);
  process.env.KUBECONFIG = result.kubeconfig;
  project.provide('kubeconfig', result.kubeconfig);
  project.provide('kubectl', result.kubectl);
  project.provide('clusterSkipReason', null);
  return async () => {
    const { last, startedByTests } = await unregister(layout);
    if (!last || !startedByTests) {
      progress(startedByTests ? 'cluster left running: another test run still uses it' : 'cluster left running: it was started with `lull cluster up`');
      return;
    }
    await clearStartedByTests(layout);
    await down({ layout, progress });
  };
}
