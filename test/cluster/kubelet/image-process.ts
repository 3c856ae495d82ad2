// The process spec of a container whose image is in the local store: its layers unpacked (cached), its
// user, argv, environment and working directory from the image config and the pod, and the command
// line that mounts and enters its rootfs (run-in-image.ts).
import { readFileSync, readlinkSync, lstatSync, existsSync } from 'node:fs';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { StoredImage } from './image-store.ts';
import type { BindMount, ProcessSpec } from './process.ts';
import { lowerDirs } from './rootfs.ts';
import { containerIdentity, imageArgv, imageCommandLine, imageEnv, resolveInImage, type ImageMount, type TreeReader } from './run-in-image.ts';

export interface ImageContainerInput {
  pod: V1Pod;
  container: V1Container;
  image: StoredImage;
  /** The container's env as the kubelet built it (service links, env, envFrom). */
  env: Record<string, string>;
  /** $(VAR) expansion of command and args. */
  expand: (text: string, env: Record<string, string>) => string;
  volumeMounts: BindMount[];
  podDir: string;
  podIP: string;
  netns: string;
  layerCache: string;
  logFile: string;
}

/** Reads the image's tree through its lower directories, top first, as the overlay will show it. */
function treeReader(lowers: readonly string[]): TreeReader & { readFile(path: string): string } {
  const find = (path: string) => lowers.map((dir) => join(dir, path)).find((p) => { try { lstatSync(p); return true; } catch { return false; } });
  return {
    readlink(path) {
      const found = find(path);
      return found !== undefined && lstatSync(found).isSymbolicLink() ? readlinkSync(found) : undefined;
    },
    readFile(path) {
      const found = find(resolveInImage(path, this));
      return found === undefined ? '' : readFileSync(found, 'utf8');
    },
  };
}

export async function imageProcessSpec(input: ImageContainerInput): Promise<ProcessSpec | { reason: string; message: string }> {
  const { pod, container, image } = input;
  let lowers: string[];
  try {
    lowers = await lowerDirs(image.layers, input.layerCache);
  } catch (err) {
    return { reason: 'CreateContainerError', message: `unpacking ${image.reference}: ${(err as Error).message}` };
  }
  const tree = treeReader(lowers);
  const identity = containerIdentity(image.config, container, pod.spec?.securityContext, { passwd: tree.readFile('/etc/passwd'), group: tree.readFile('/etc/group') });
  if ('error' in identity) return { reason: 'CreateContainerConfigError', message: identity.error };
  const argv = imageArgv(image.config, container);
  if ('error' in argv) return { reason: 'CreateContainerConfigError', message: argv.error };

  // The pod's own /etc/hosts, as the kubelet writes one; no cluster DNS, so the host's resolv.conf.
  const hosts = join(input.podDir, 'etc-hosts');
  if (!existsSync(hosts)) {
    await mkdir(input.podDir, { recursive: true });
    await writeFile(hosts, `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${input.podIP}\t${pod.metadata?.name ?? ''}\n`);
  }
  const extra: ImageMount[] = [{ source: hosts, target: '/etc/hosts', readOnly: true }];
  if (existsSync('/etc/resolv.conf')) extra.push({ source: '/etc/resolv.conf', target: '/etc/resolv.conf', readOnly: true });
  const readOnly = new Map((container.volumeMounts ?? []).map((m) => [m.mountPath, m.readOnly === true]));
  const mounts = [
    ...input.volumeMounts.map((m) => ({ source: m.source, target: m.target, readOnly: readOnly.get(m.target) ?? false })),
    ...extra,
  ].map((m) => ({ ...m, target: resolveInImage(m.target, tree) }));

  const env = imageEnv(image.config, {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOSTNAME: pod.metadata!.name!,
    HOME: identity.home,
  }, input.env);
  const sc = container.securityContext;
  const command = imageCommandLine(input.netns, {
    lowerDirs: lowers,
    containerDir: join(input.podDir, 'containers', container.name),
    uid: identity.uid,
    gid: identity.gid,
    workingDir: container.workingDir ?? (image.config.WorkingDir || '/'),
    readOnlyRootFilesystem: sc?.readOnlyRootFilesystem === true,
    noNewPrivileges: sc?.allowPrivilegeEscalation === false,
    mounts,
  }, argv.map((a) => input.expand(a, input.env)));
  return { argv: command, env, cwd: '/', netns: input.netns, mounts: [], logFile: input.logFile, commandLine: command };
}
