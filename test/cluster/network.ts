// The host side of the cluster network: the bridge, the route that keeps ClusterIPs on it, the
// sysctls forwarding needs, and a cleanup that removes all of it (and pods' leftovers) by name.
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { lullError } from '../../core/errors.ts';
import { clusterErrors } from './errors.ts';
import type { Logger } from '../../core/log.ts';
import { conflictingRoutes, describeRoute, prefixLength, type RouteEntry } from './cidr.ts';
import { exec, run } from './exec.ts';
import { chainExists, installForwardRules, removeForwardRules, removeKubeletFirewallChain, type IptablesBinary } from './firewall.ts';
import { clusterFiles, type ClusterLayout } from './layout.ts';

export const SYSCTLS = {
  ipForward: '/proc/sys/net/ipv4/ip_forward',
  // Bridged pod-to-pod packets must pass iptables, or ClusterIP DNAT between pods on the bridge fails.
  bridgeNfCallIptables: '/proc/sys/net/bridge/bridge-nf-call-iptables',
} as const;

/** What setup found on the host before changing it; cleanup puts it back. */
export interface NetworkState {
  /** Original values of the sysctls setup changed (path → value). */
  sysctls: Record<string, string>;
  /** nft tables (`family name`) that existed before; an empty table not among them is ours to delete. */
  nftTables: string[] | null;
  /** Whether a real kubelet's KUBE-FIREWALL chain was there before (then it is not ours to remove). */
  kubeFirewallBefore: Record<IptablesBinary, boolean>;
}

async function readSysctl(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** `ip netns list` prints `name (id: N)` or `name`; returns the names. */
export function parseNetnsList(output: string): string[] {
  return output
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/** Names of the tables in `nft -j list tables` output, as `family name`. */
export function parseNftTables(json: string): string[] {
  const parsed = JSON.parse(json) as { nftables?: Array<{ table?: { family: string; name: string } }> };
  return (parsed.nftables ?? []).flatMap((e) => (e.table ? [`${e.table.family} ${e.table.name}`] : []));
}

/** True when `nft -j list table ...` output holds no rule (only chains, possibly with policies). */
export function nftTableIsEmpty(json: string): boolean {
  const parsed = JSON.parse(json) as { nftables?: Array<Record<string, unknown>> };
  return !(parsed.nftables ?? []).some((e) => 'rule' in e || 'set' in e || 'map' in e);
}

/** Tables to delete at cleanup: new since setup, of the families iptables-nft writes, and empty. */
export function nftTablesToDelete(before: readonly string[], now: readonly string[], isEmpty: (table: string) => boolean): string[] {
  return now.filter((t) => !before.includes(t) && /^(ip|ip6) /.test(t) && isEmpty(t));
}

async function nftTables(): Promise<string[] | null> {
  const result = await exec('nft', ['-j', 'list', 'tables']);
  return result.code === 0 ? parseNftTables(result.stdout) : null;
}

async function hostRoutes(): Promise<RouteEntry[]> {
  return JSON.parse(await run('ip', ['-j', '-4', 'route', 'show', 'table', 'all'])) as RouteEntry[];
}

/** Refuses to start when the pod or service range is already routed somewhere else on this host. */
export async function checkRoutes(layout: ClusterLayout): Promise<void> {
  const conflicts = conflictingRoutes(await hostRoutes(), [layout.podCIDR, layout.serviceCIDR], layout.bridge);
  if (conflicts.length > 0) {
    throw lullError(
      clusterErrors.clusterRouteConflict,
      `${layout.podCIDR} and ${layout.serviceCIDR}`,
      conflicts.map(describeRoute).join(', '),
    );
  }
}

/** Two kube-proxies would rewrite each other's rules, and our cleanup would remove the other's. */
async function checkNoOtherKubeProxy(): Promise<void> {
  if (await chainExists('iptables', 'nat', 'KUBE-SERVICES')) {
    throw lullError(
      clusterErrors.clusterPrerequisite,
      'a host without another kube-proxy',
      'the iptables chain KUBE-SERVICES exists, so a Kubernetes node already runs on this host (if it is a leftover of ours, `npm run cluster -- down` removes it)',
    );
  }
}

async function linkExists(name: string): Promise<boolean> {
  return (await exec('ip', ['link', 'show', 'dev', name])).code === 0;
}

async function setSysctl(path: string, value: string, state: NetworkState): Promise<void> {
  const current = await readSysctl(path);
  if (current === undefined || current === value) return;
  state.sysctls[path] ??= current;
  await writeFile(path, value);
}

export async function readNetworkState(layout: ClusterLayout): Promise<NetworkState | undefined> {
  try {
    return JSON.parse(await readFile(clusterFiles(layout).networkState, 'utf8')) as NetworkState;
  } catch {
    return undefined;
  }
}

/** Bridge, service route, sysctls and forward rules; records what it changed before changing it. */
export async function setUpNetwork(layout: ClusterLayout, log: Logger): Promise<void> {
  await checkRoutes(layout);
  const file = clusterFiles(layout).networkState;
  let state = await readNetworkState(layout);
  if (state === undefined) {
    await checkNoOtherKubeProxy();
    state = {
      sysctls: {},
      nftTables: await nftTables(),
      kubeFirewallBefore: { iptables: await chainExists('iptables', 'filter', 'KUBE-FIREWALL'), ip6tables: await chainExists('ip6tables', 'filter', 'KUBE-FIREWALL') },
    };
  }
  const save = () => writeFile(file, `${JSON.stringify(state, null, 2)}\n`);
  await save();

  if (!(await linkExists(layout.bridge))) await run('ip', ['link', 'add', layout.bridge, 'type', 'bridge']);
  await run('ip', ['addr', 'replace', `${layout.gateway}/${prefixLength(layout.podCIDR)}`, 'dev', layout.bridge]);
  await run('ip', ['link', 'set', layout.bridge, 'up']);
  // ClusterIPs no rule matches end on the bridge instead of following the default route out.
  await run('ip', ['route', 'replace', layout.serviceCIDR, 'dev', layout.bridge]);

  await setSysctl(SYSCTLS.ipForward, '1', state);
  await save();
  if (!existsSync(SYSCTLS.bridgeNfCallIptables)) await exec('modprobe', ['br_netfilter']);
  if (existsSync(SYSCTLS.bridgeNfCallIptables)) await setSysctl(SYSCTLS.bridgeNfCallIptables, '1', state);
  else log.warn('br_netfilter is not available: pod-to-pod traffic through a ClusterIP on the bridge will not be proxied');
  await save();

  await installForwardRules(layout);
}

/** What a cleanup found and removed, for the log and for `up` to say it recovered a crash. */
export interface CleanupReport {
  removed: string[];
}

/** Removes everything the cluster and its pods put on the host network; safe to run any time. */
export async function cleanUpNetwork(layout: ClusterLayout, options: { kubeProxy?: string }, log: Logger): Promise<CleanupReport> {
  const removed: string[] = [];

  for (const netns of parseNetnsList((await exec('ip', ['netns', 'list'])).stdout).filter((n) => n.startsWith(layout.netnsPrefix))) {
    const pids = (await exec('ip', ['netns', 'pids', netns])).stdout.split('\n').filter(Boolean).map(Number);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await exec('ip', ['netns', 'del', netns]);
    removed.push(`netns ${netns}${pids.length > 0 ? ` (killed ${pids.length} processes)` : ''}`);
  }

  const links = JSON.parse((await exec('ip', ['-j', 'link', 'show'])).stdout || '[]') as Array<{ ifname: string }>;
  for (const { ifname } of links) {
    const name = ifname.split('@')[0] ?? ifname;
    if (name.startsWith(layout.vethPrefix) || name.startsWith(layout.peerVethPrefix)) {
      await exec('ip', ['link', 'del', name]);
      removed.push(`link ${name}`);
    }
  }

  const state = await readNetworkState(layout);
  // Without our record or our bridge, KUBE-* rules belong to some other kube-proxy: leave them.
  const ours = state !== undefined || (await linkExists(layout.bridge));

  if ((await exec('ip', ['route', 'del', layout.serviceCIDR, 'dev', layout.bridge])).code === 0) removed.push(`route ${layout.serviceCIDR}`);
  if (await linkExists(layout.bridge)) {
    await run('ip', ['link', 'del', layout.bridge]);
    removed.push(`bridge ${layout.bridge}`);
  }

  if (ours && options.kubeProxy !== undefined) {
    const result = await exec(options.kubeProxy, ['--cleanup']);
    if (result.code !== 0) log.warn({ output: result.stderr.slice(-2000) }, 'kube-proxy --cleanup failed');
    else removed.push('kube-proxy rules');
  } else if (ours) log.warn('no kube-proxy binary: its iptables rules, if any, were not cleaned up');
  if (ours) {
    for (const binary of ['iptables', 'ip6tables'] as const) {
      if (state?.kubeFirewallBefore?.[binary] !== true && (await removeKubeletFirewallChain(binary))) removed.push(`${binary} chain KUBE-FIREWALL`);
    }
  }
  if (await removeForwardRules()) removed.push('iptables chain LULL-FORWARD');
  if (state?.nftTables) {
    const now = (await nftTables()) ?? [];
    const empty = new Map<string, boolean>();
    for (const t of now) {
      const [family, name] = t.split(' ');
      const listing = await exec('nft', ['-j', 'list', 'table', family ?? '', name ?? '']);
      empty.set(t, listing.code === 0 && nftTableIsEmpty(listing.stdout));
    }
    for (const t of nftTablesToDelete(state.nftTables, now, (x) => empty.get(x) === true)) {
      await exec('nft', ['delete', 'table', ...t.split(' ')]);
      removed.push(`nft table ${t}`);
    }
  }
  for (const [path, value] of Object.entries(state?.sysctls ?? {})) {
    if ((await readSysctl(path)) !== value) {
      await writeFile(path, value).catch((err: Error) => log.warn({ err, path }, 'could not restore sysctl'));
      removed.push(`sysctl ${path.replace('/proc/sys/', '').replaceAll('/', '.')} restored to ${value}`);
    }
  }
  await rm(clusterFiles(layout).networkState, { force: true });
  return { removed };
}

/** Names of what a previous run left on the host network (bridge, netns, links). */
export async function networkLeftovers(layout: ClusterLayout): Promise<string[]> {
  const found: string[] = [];
  if (await linkExists(layout.bridge)) found.push(`bridge ${layout.bridge}`);
  for (const n of parseNetnsList((await exec('ip', ['netns', 'list'])).stdout)) if (n.startsWith(layout.netnsPrefix)) found.push(`netns ${n}`);
  return found;
}
