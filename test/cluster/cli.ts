// `lull cluster up|down|status|logs`: the local cluster from a terminal.
import { createReadStream, existsSync } from 'node:fs';
import { relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LullError, lullError } from '../../core/errors.ts';
import { clusterErrors } from './errors.ts';
import { down, up } from './cluster.ts';
import { clusterStatus, isHealthy } from './status.ts';
import { clusterLayout } from './layout.ts';
import { parseLogTarget, resolveLogFile } from './logs.ts';
import { platformProblems, problemError } from './prerequisites.ts';
import { clearStartedByTests, liveUsers } from './sharing.ts';

const USAGE = `usage: lull cluster <command>

commands:
  up                              start the local cluster (or say it already runs), detached
  down                            stop it and remove everything it put on the host
  status                          each component's pid and health
  logs <component>                a component's log (etcd, kube-apiserver, ..., kubelet)
  logs <namespace>/<pod> [name]   a container's log
`;

const out = (line: string) => process.stdout.write(`${line}\n`);

/** A path as the user would type it from here. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') ? rel : path;
}

async function runUp(): Promise<number> {
  const result = await up({ progress: out });
  // Started or adopted from a terminal: it is the developer's now, and test runs leave it running.
  await clearStartedByTests(clusterLayout());
  const kubeconfig = shown(result.kubeconfig);
  out('');
  out(`admin kubeconfig: ${kubeconfig}`);
  out(`  ${shown(result.kubectl)} --kubeconfig ${kubeconfig} get nodes`);
  out(`  (that is the pinned kubectl; or: export KUBECONFIG=${result.kubeconfig})`);
  if (!result.kubeletRunning) out('  no node yet: the process kubelet is not written, so pods stay Pending');
  out('stop it with: npm run cluster -- down');
  return 0;
}

async function runDown(): Promise<number> {
  const users = await liveUsers(clusterLayout());
  if (users.length > 0) out(`note: test runs still use the cluster (pids ${users.join(', ')}); they will fail`);
  await down({ progress: out });
  return 0;
}

async function runStatus(): Promise<number> {
  // Health checks read the cluster's private keys, which only root can.
  const [problem] = platformProblems();
  if (problem !== undefined) throw problemError(problem);
  const statuses = await clusterStatus();
  const width = Math.max(...statuses.map((s) => s.name.length));
  for (const s of statuses) {
    const pid = s.pid === undefined ? '-' : String(s.pid);
    out(`${s.name.padEnd(width)}  ${pid.padStart(7)}  ${s.state}${s.state === 'ready' ? '' : `: ${s.detail}`}`);
  }
  const healthy = isHealthy(statuses);
  out(healthy ? 'the cluster is healthy' : 'the cluster is not healthy (`npm run cluster -- up` restarts it)');
  return healthy ? 0 : 1;
}

async function runLogs(args: string[]): Promise<number> {
  const [target, container] = args;
  if (target === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  const file = await resolveLogFile(clusterLayout(), parseLogTarget(target, container));
  if (!existsSync(file)) throw lullError(clusterErrors.clusterLogNotFound, target, `${file} does not exist (did the cluster start?)`);
  await pipeline(createReadStream(file), process.stdout, { end: false });
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'up':
        return await runUp();
      case 'down':
        return await runDown();
      case 'status':
        return await runStatus();
      case 'logs':
        return await runLogs(args);
      case undefined:
      case 'help':
      case '-h':
      case '--help':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`lull cluster: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof LullError) {
      process.stderr.write(`lull cluster: ${err.message} [${err.code}]\n`);
      return 1;
    }
    throw err;
  }
}
