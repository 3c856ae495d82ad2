// One network namespace per pod, with a veth into the cluster bridge: containers of a pod share
// localhost and one address, as in a real pod.
import { createHash } from 'node:crypto';
import { run } from '../exec.ts';

export interface PodNetwork {
  netns: string;
  hostVeth: string;
  ip: string;
}

export interface NetworkSettings {
  bridge: string;
  gateway: string;
  prefixLength: number;
  netnsPrefix: string;
  vethPrefix: string;
  peerVethPrefix: string;
}

/** Names fit Linux's 15-character interface limit and are derived from the pod UID, so leftovers are found by prefix. */
export function podNetworkNames(uid: string, s: Pick<NetworkSettings, 'netnsPrefix' | 'vethPrefix' | 'peerVethPrefix'>): { netns: string; hostVeth: string; peerVeth: string } {
  const id = createHash('sha256').update(uid).digest('hex').slice(0, 8);
  return { netns: `${s.netnsPrefix}${id}`, hostVeth: `${s.vethPrefix}${id}`, peerVeth: `${s.peerVethPrefix}${id}` };
}

export async function createPodNetwork(uid: string, ip: string, s: NetworkSettings): Promise<PodNetwork> {
  const { netns, hostVeth, peerVeth } = podNetworkNames(uid, s);
  await deletePodNetwork({ netns, hostVeth, ip });
  await run('ip', ['netns', 'add', netns]);
  await run('ip', ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', peerVeth]);
  await run('ip', ['link', 'set', peerVeth, 'netns', netns]);
  await run('ip', ['link', 'set', hostVeth, 'master', s.bridge, 'up']);
  await run('ip', ['-n', netns, 'link', 'set', peerVeth, 'name', 'eth0']);
  await run('ip', ['-n', netns, 'addr', 'add', `${ip}/${s.prefixLength}`, 'dev', 'eth0']);
  await run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
  await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', netns, 'route', 'add', 'default', 'via', s.gateway]);
  return { netns, hostVeth, ip };
}

/** Kills whatever still runs in the namespace, then removes it (the veth pair goes with it). */
export async function deletePodNetwork(net: PodNetwork): Promise<void> {
  const pids = await run('ip', ['netns', 'pids', net.netns]).catch(() => '');
  for (const pid of pids.split('\n').filter(Boolean)) {
    try { process.kill(Number(pid), 'SIGKILL'); } catch { /* already gone */ }
  }
  await run('ip', ['netns', 'del', net.netns]).catch(() => undefined);
  await run('ip', ['link', 'del', net.hostVeth]).catch(() => undefined);
}
