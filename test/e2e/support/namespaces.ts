import { randomBytes } from 'node:crypto';
import type { Kubectl } from './kubectl.ts';
import { waitFor } from './wait.ts';

/** `<prefix>-<6 hex>`: a run's own name, as the namespaces of an earlier run may still be terminating. */
export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex')}`;

/** Creates (or labels) a namespace and waits for its `default` ServiceAccount, which pods need to be admitted. */
export async function createNamespace(kubectl: Kubectl, name: string, labels: Record<string, string> = {}): Promise<string> {
  await kubectl.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  await waitFor(`the default ServiceAccount in ${name}`, () => kubectl(['get', 'serviceaccount', 'default', '-n', name]).then(() => true), 60_000, 100);
  return name;
}
