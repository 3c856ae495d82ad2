// One iptables chain of our own in FORWARD: pod traffic may cross the bridge (even where a host
// firewall such as Docker's sets FORWARD to DROP) and may never leave the machine.
import type { ClusterLayout } from './layout.ts';
import { exec, run } from './exec.ts';

export const FORWARD_CHAIN = 'LULL-FORWARD';

/** The chain's rules, each as the arguments that follow `-A LULL-FORWARD`. */
export function forwardRules(layout: Pick<ClusterLayout, 'bridge'>): string[][] {
  const comment = (text: string) => ['-m', 'comment', '--comment', `lull: ${text}`];
  return [
    ['-i', layout.bridge, '-o', layout.bridge, ...comment('pod to pod, also via a ClusterIP'), '-j', 'ACCEPT'],
    ['-i', layout.bridge, ...comment('pod traffic stays on this machine'), '-j', 'DROP'],
    ['-o', layout.bridge, ...comment('nothing from outside reaches pods'), '-j', 'DROP'],
  ];
}

function iptables(args: string[]) {
  // -w: wait for the xtables lock that kube-proxy also takes.
  return exec('iptables', ['-w', '5', ...args]);
}

export async function installForwardRules(layout: Pick<ClusterLayout, 'bridge'>): Promise<void> {
  if ((await iptables(['-t', 'filter', '-N', FORWARD_CHAIN])).code !== 0) await run('iptables', ['-w', '5', '-F', FORWARD_CHAIN]);
  for (const rule of forwardRules(layout)) await run('iptables', ['-w', '5', '-A', FORWARD_CHAIN, ...rule]);
  if ((await iptables(['-C', 'FORWARD', '-j', FORWARD_CHAIN])).code !== 0) await run('iptables', ['-w', '5', '-I', 'FORWARD', '1', '-j', FORWARD_CHAIN]);
}

/** Removes the jump and the chain; true when there was something to remove. */
export async function removeForwardRules(): Promise<boolean> {
  let removed = false;
  // A crash between two ups can leave more than one jump.
  for (let i = 0; i < 10 && (await iptables(['-D', 'FORWARD', '-j', FORWARD_CHAIN])).code === 0; i++) removed = true;
  if ((await iptables(['-F', FORWARD_CHAIN])).code === 0) removed = true;
  await iptables(['-X', FORWARD_CHAIN]);
  return removed;
}

export type IptablesBinary = 'iptables' | 'ip6tables';

export async function chainExists(binary: IptablesBinary, table: string, chain: string): Promise<boolean> {
  return (await exec(binary, ['-w', '5', '-t', table, '-S', chain])).code === 0;
}

/**
 * kube-proxy creates the kubelet's KUBE-FIREWALL chain (jumped to from INPUT and OUTPUT) and
 * `kube-proxy --cleanup` leaves it, as a real kubelet would own it; here nobody else does.
 */
export async function removeKubeletFirewallChain(binary: IptablesBinary): Promise<boolean> {
  const chain = 'KUBE-FIREWALL';
  if (!(await chainExists(binary, 'filter', chain))) return false;
  for (const hook of ['INPUT', 'OUTPUT']) {
    for (let i = 0; i < 10 && (await exec(binary, ['-w', '5', '-D', hook, '-j', chain])).code === 0; i++);
  }
  await exec(binary, ['-w', '5', '-F', chain]);
  await exec(binary, ['-w', '5', '-X', chain]);
  return true;
}
