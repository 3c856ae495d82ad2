// Pod volumes as host directories, bind-mounted into each container's own mount namespace.
import { mkdir, writeFile, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { V1Container, V1KeyToPath, V1Pod, V1Volume, V1VolumeProjection } from '@kubernetes/client-node';
import type { KubeletApi } from './api.ts';
import { fieldValue } from './env.ts';
import type { BindMount } from './process.ts';

export interface PreparedVolumes {
  dirs: Map<string, string>;
  /** Timers that keep service-account tokens fresh; cleared when the pod stops. */
  timers: NodeJS.Timeout[];
}

type Files = Map<string, string>;

function selectKeys(data: Record<string, string>, items: V1KeyToPath[] | undefined, files: Files, what: string): void {
  if (items === undefined) {
    for (const [key, value] of Object.entries(data)) files.set(key, value);
    return;
  }
  for (const item of items) {
    if (!Object.hasOwn(data, item.key)) throw new Error(`${what} has no key "${item.key}"`);
    files.set(item.path, data[item.key]!);
  }
}

async function writeFiles(dir: string, files: Files): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const [path, content] of files) {
    const target = resolve(dir, path);
    if (!target.startsWith(dir + '/')) throw new Error(`volume path ${JSON.stringify(path)} leaves the volume`);
    await mkdir(dirname(target), { recursive: true });
    // Write then rename, so a reader never sees half a token.
    await writeFile(`${target}.tmp`, content, { mode: 0o644 });
    await rename(`${target}.tmp`, target);
  }
}

interface Ctx {
  pod: V1Pod;
  api: KubeletApi;
  podIP: string;
  hostIP: string;
  timers: NodeJS.Timeout[];
}

async function projectedFiles(sources: V1VolumeProjection[], ctx: Ctx, dir: string): Promise<Files> {
  const files: Files = new Map();
  const ns = ctx.pod.metadata!.namespace!;
  for (const source of sources) {
    if (source.configMap) {
      const data = await ctx.api.configMap(ns, source.configMap.name!);
      if (data === undefined) { if (source.configMap.optional) continue; throw new Error(`configmap "${source.configMap.name}" not found`); }
      selectKeys(data, source.configMap.items, files, `configmap "${source.configMap.name}"`);
    } else if (source.secret) {
      const data = await ctx.api.secret(ns, source.secret.name!);
      if (data === undefined) { if (source.secret.optional) continue; throw new Error(`secret "${source.secret.name}" not found`); }
      selectKeys(data, source.secret.items, files, `secret "${source.secret.name}"`);
    } else if (source.downwardAPI) {
      for (const item of source.downwardAPI.items ?? []) {
        if (item.fieldRef) files.set(item.path, fieldValue(ctx.pod, item.fieldRef.fieldPath, ctx) ?? '');
      }
    } else if (source.serviceAccountToken) {
      const spec = source.serviceAccountToken;
      const expirationSeconds = spec.expirationSeconds ?? 3607;
      const audiences = spec.audience ? [spec.audience] : undefined;
      const { token, expiresAt } = await ctx.api.serviceAccountToken(ctx.pod, audiences, expirationSeconds);
      files.set(spec.path, token);
      // Refresh at 80% of the lifetime, as the kubelet does.
      const refreshMs = Math.max(1000, (expiresAt - Date.now()) * 0.8);
      const timer = setInterval(() => {
        ctx.api.serviceAccountToken(ctx.pod, audiences, expirationSeconds)
          .then(({ token: fresh }) => writeFiles(dir, new Map([[spec.path, fresh]])))
          .catch(() => undefined);
      }, refreshMs);
      timer.unref();
      ctx.timers.push(timer);
    }
  }
  return files;
}

async function prepareVolume(volume: V1Volume, dir: string, ctx: Ctx): Promise<string> {
  const ns = ctx.pod.metadata!.namespace!;
  if (volume.hostPath) return volume.hostPath.path;
  if (volume.emptyDir) { await mkdir(dir, { recursive: true, mode: 0o777 }); return dir; }
  const files: Files = new Map();
  if (volume.configMap) {
    const data = await ctx.api.configMap(ns, volume.configMap.name!);
    if (data === undefined && !volume.configMap.optional) throw new Error(`configmap "${volume.configMap.name}" not found`);
    if (data) selectKeys(data, volume.configMap.items, files, `configmap "${volume.configMap.name}"`);
  } else if (volume.secret) {
    const data = await ctx.api.secret(ns, volume.secret.secretName!);
    if (data === undefined && !volume.secret.optional) throw new Error(`secret "${volume.secret.secretName}" not found`);
    if (data) selectKeys(data, volume.secret.items, files, `secret "${volume.secret.secretName}"`);
  } else if (volume.projected) {
    for (const [k, v] of await projectedFiles(volume.projected.sources ?? [], ctx, dir)) files.set(k, v);
  } else if (volume.downwardAPI) {
    for (const item of volume.downwardAPI.items ?? []) if (item.fieldRef) files.set(item.path, fieldValue(ctx.pod, item.fieldRef.fieldPath, ctx) ?? '');
  } else {
    throw new Error(`volume "${volume.name}": only emptyDir, hostPath, configMap, secret, projected and downwardAPI volumes are supported by the test kubelet`);
  }
  await writeFiles(dir, files);
  return dir;
}

export async function prepareVolumes(pod: V1Pod, podDir: string, api: KubeletApi, podIP: string, hostIP: string): Promise<PreparedVolumes> {
  const prepared: PreparedVolumes = { dirs: new Map(), timers: [] };
  const ctx: Ctx = { pod, api, podIP, hostIP, timers: prepared.timers };
  for (const volume of pod.spec?.volumes ?? []) {
    prepared.dirs.set(volume.name, await prepareVolume(volume, join(podDir, 'volumes', volume.name), ctx));
  }
  return prepared;
}

export function containerMounts(container: V1Container, volumes: PreparedVolumes): BindMount[] | { error: string } {
  const mounts: BindMount[] = [];
  for (const m of container.volumeMounts ?? []) {
    const dir = volumes.dirs.get(m.name);
    if (dir === undefined) return { error: `volumeMount "${m.name}" names no volume of the pod` };
    mounts.push({ source: m.subPath ? join(dir, m.subPath) : dir, target: m.mountPath });
  }
  return mounts;
}

/** Mount points must exist on the host; the ones we create are remembered and removed at shutdown. */
export async function ensureMountPoints(mounts: BindMount[], created: Set<string>): Promise<void> {
  for (const { target } of mounts) {
    let top: string | undefined;
    for (let dir = target; !existsSync(dir); dir = dirname(dir)) top = dir;
    if (top === undefined) continue;
    await mkdir(target, { recursive: true });
    created.add(top);
  }
}

export async function removeMountPoints(created: Set<string>): Promise<void> {
  for (const dir of created) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  created.clear();
}
