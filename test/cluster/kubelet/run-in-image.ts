// A container of a stored image, as a runtime runs it: the image's rootfs (overlayfs: its layers below,
// the container's own writable directory on top) with the pod's volumes, /proc, a minimal /dev, /sys
// and the pod's /etc/hosts and /etc/resolv.conf mounted in; then chroot, working directory, the image's
// (or the securityContext's) user and no_new_privs, and exec. All of it in the private mount namespace
// `ip netns exec` gives each container, so nothing is left on the host when it ends.
import type { V1Container, V1PodSecurityContext } from '@kubernetes/client-node';
import type { ImageConfig } from './image-store.ts';

export interface ImageMount {
  source: string;
  /** Path inside the container. */
  target: string;
  readOnly?: boolean;
}

export interface ImageRun {
  /** overlayfs lower directories, top layer first. */
  lowerDirs: string[];
  /** Holds the container's upper, work and rootfs directories; kept across restarts, as a runtime keeps its writable layer. */
  containerDir: string;
  uid: number;
  gid: number;
  workingDir: string;
  readOnlyRootFilesystem: boolean;
  noNewPrivileges: boolean;
  mounts: ImageMount[];
}

interface Passwd {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Pure: /etc/passwd lines. */
export function parsePasswd(text: string): Passwd[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    if (f.length < 7 || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) return [];
    return [{ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! }];
  });
}

/** Pure: /etc/group lines, name → gid. */
export function parseGroups(text: string): Map<string, number> {
  const groups = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && /^\d+$/.test(f[2]!)) groups.set(f[0]!, Number(f[2]));
  }
  return groups;
}

export interface Identity {
  uid: number;
  gid: number;
  home: string;
}

/**
 * Pure: who the container runs as, as the kubelet and runtime decide it: securityContext runAsUser /
 * runAsGroup (container over pod) over the image's USER; runAsNonRoot refuses uid 0 and a user it
 * cannot verify (a name rather than a number), with the kubelet's messages.
 */
export function containerIdentity(
  config: ImageConfig,
  container: Pick<V1Container, 'securityContext'>,
  pod: V1PodSecurityContext | undefined,
  etc: { passwd: string; group: string },
): Identity | { error: string } {
  const users = parsePasswd(etc.passwd);
  const [userPart = '', groupPart] = (config.User ?? '').split(':', 2);
  const runAsUser = container.securityContext?.runAsUser ?? pod?.runAsUser;
  const runAsGroup = container.securityContext?.runAsGroup ?? pod?.runAsGroup;
  const runAsNonRoot = container.securityContext?.runAsNonRoot ?? pod?.runAsNonRoot;

  let uid: number;
  let named: Passwd | undefined;
  if (runAsUser !== undefined) uid = runAsUser;
  else if (userPart === '') uid = 0;
  else if (/^\d+$/.test(userPart)) uid = Number(userPart);
  else {
    if (runAsNonRoot) return { error: `container has runAsNonRoot and image has non-numeric user (${userPart}), cannot verify user is non-root` };
    named = users.find((u) => u.name === userPart);
    if (named === undefined) return { error: `unable to find user ${userPart}: no matching entries in passwd file` };
    uid = named.uid;
  }
  if (runAsNonRoot && uid === 0) return { error: 'container has runAsNonRoot and image will run as root' };

  const entry = named ?? users.find((u) => u.uid === uid);
  let gid: number;
  if (runAsGroup !== undefined) gid = runAsGroup;
  else if (groupPart !== undefined && /^\d+$/.test(groupPart)) gid = Number(groupPart);
  else if (groupPart !== undefined) {
    const found = parseGroups(etc.group).get(groupPart);
    if (found === undefined) return { error: `unable to find group ${groupPart}: no matching entries in group file` };
    gid = found;
  } else gid = entry?.gid ?? 0;
  return { uid, gid, home: entry?.home ?? '/' };
}

/** Pure: argv by Kubernetes' rules: command replaces the entrypoint (and drops the image's cmd), args replace cmd. */
export function imageArgv(config: ImageConfig, container: Pick<V1Container, 'command' | 'args'>): string[] | { error: string } {
  const command = container.command !== undefined && container.command.length > 0 ? container.command : undefined;
  const entrypoint = command ?? config.Entrypoint ?? [];
  const args = container.args ?? (command !== undefined ? [] : (config.Cmd ?? []));
  const argv = [...entrypoint, ...args];
  if (argv.length === 0) return { error: 'no command specified: the image has no entrypoint or cmd and the container no command' };
  return argv;
}

/** Pure: the image's environment, then the kubelet's defaults, then the container's (the container wins). */
export function imageEnv(config: ImageConfig, defaults: Record<string, string>, container: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of config.Env ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  for (const [k, v] of Object.entries(defaults)) if (!(k in env)) env[k] = v;
  return { ...env, ...container };
}

// Positional arguments, never interpolated into the script: paths with spaces or quotes stay data.
const SCRIPT = `set -e
rootfs=$1 lower=$2 upper=$3 work=$4 wd=$5 uid=$6 gid=$7 rootmode=$8 nnp=$9
shift 9
mkdir -p "$upper" "$work" "$rootfs"
mount -t overlay lull-rootfs -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$rootfs"
while [ "$1" != "--" ]; do
  src=$1 dst=$rootfs$2 mode=$3
  shift 3
  if [ -d "$src" ]; then mkdir -p "$dst"; else mkdir -p "$(dirname "$dst")"; [ -e "$dst" ] || : > "$dst"; fi
  mount --bind "$src" "$dst"
  if [ "$mode" = ro ]; then mount -o remount,bind,ro "$dst"; fi
done
shift
mkdir -p "$rootfs/proc" "$rootfs/dev" "$rootfs/sys"
mount -t proc -o nosuid,nodev,noexec proc "$rootfs/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$rootfs/sys"
mount -t tmpfs -o nosuid,noexec,mode=755,size=65536k lull-dev "$rootfs/dev"
for node in null zero full random urandom tty; do : > "$rootfs/dev/$node"; mount --bind "/dev/$node" "$rootfs/dev/$node"; done
ln -s /proc/self/fd "$rootfs/dev/fd"
ln -s /proc/self/fd/0 "$rootfs/dev/stdin"
ln -s /proc/self/fd/1 "$rootfs/dev/stdout"
ln -s /proc/self/fd/2 "$rootfs/dev/stderr"
mkdir "$rootfs/dev/shm"
mount -t tmpfs -o nosuid,nodev,noexec,mode=1777 shm "$rootfs/dev/shm"
if [ "$rootmode" = ro ]; then mount -o remount,bind,ro "$rootfs"; fi
set -- unshare --root="$rootfs" --wd="$wd" --setgid="$gid" --setuid="$uid" -- "$@"
if [ "$nnp" = nnp ]; then set -- setpriv --no-new-privs "$@"; fi
exec "$@"`;

export interface TreeReader {
  /** The symlink's target if `path` (inside the image) is one; undefined for anything else or nothing. */
  readlink(path: string): string | undefined;
}

/**
 * Pure: `path` with every symlink resolved inside the image, as runc's securejoin does, so a mount
 * target under a link such as /var/run -> /run lands in the rootfs and never on the host.
 */
export function resolveInImage(path: string, tree: TreeReader): string {
  let pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const resolved: string[] = [];
  for (let hops = 0; pending.length > 0;) {
    const part = pending.shift()!;
    if (part === '..') { resolved.pop(); continue; }
    const candidate = `/${[...resolved, part].join('/')}`;
    const link = tree.readlink(candidate);
    if (link === undefined) { resolved.push(part); continue; }
    if (++hops > 40) throw new Error(`too many levels of symbolic links resolving ${path} in the image`);
    const target = link.split('/').filter((p) => p !== '' && p !== '.');
    if (link.startsWith('/')) resolved.length = 0;
    pending = [...target, ...pending];
  }
  return `/${resolved.join('/')}`;
}

/** Pure: the host command line that runs `argv` in the image, in the pod's network namespace. */
export function imageCommandLine(netns: string, run: ImageRun, argv: readonly string[]): string[] {
  const d = run.containerDir;
  const mounts = run.mounts.flatMap((m) => [m.source, m.target, m.readOnly ? 'ro' : 'rw']);
  return [
    'ip', 'netns', 'exec', netns, 'sh', '-c', SCRIPT, 'lull-container',
    `${d}/rootfs`, run.lowerDirs.join(':'), `${d}/upper`, `${d}/work`, run.workingDir, String(run.uid), String(run.gid),
    run.readOnlyRootFilesystem ? 'ro' : 'rw', run.noNewPrivileges ? 'nnp' : '-',
    ...mounts, '--', ...argv,
  ];
}
