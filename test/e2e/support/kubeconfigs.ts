// Kubeconfigs for Lull's parts on the host: a ServiceAccount's token on the admin kubeconfig's cluster,
// so a part runs with exactly the RBAC it has in the cluster.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse, stringify } from 'yaml';
import type { Kubectl } from './kubectl.ts';

/** Pure: a kubeconfig for `token` on the first cluster (server and CA) of the admin kubeconfig's text. */
export function tokenKubeconfig(adminText: string, user: string, token: string): string {
  const cluster = parse(adminText).clusters[0].cluster;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'local', context: { cluster: 'local', user } }],
    'current-context': 'local',
  });
}

/** Writes to `file` a kubeconfig acting as the ServiceAccount `namespace/name` (a token made now). */
export async function writeServiceAccountKubeconfig(kubectl: Kubectl, namespace: string, name: string, file: string, duration = '24h'): Promise<string> {
  const token = (await kubectl(['create', 'token', name, '-n', namespace, `--duration=${duration}`])).trim();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, tokenKubeconfig(readFileSync(kubectl.kubeconfig, 'utf8'), name, token), { mode: 0o600 });
  return file;
}
