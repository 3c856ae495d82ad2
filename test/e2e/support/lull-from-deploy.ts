// Lull installed from deploy/ exactly as rendered, moved aside so it shares the local cluster with
// other test runs: its own namespace, suffixed cluster-wide names, and a namespace selector so its
// webhook and reconciler only see the test's namespaces. Everything else (images, RBAC rules,
// replicas, probes) is what `kubectl apply -k deploy/` installs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { SYSTEM_NAMESPACE } from '../../../core/annotations.ts';
import { REPO, type Kubectl } from './kubectl.ts';

export interface Isolation {
  /** Namespace the parts run in instead of lull-system. */
  namespace: string;
  /** Appended to cluster-scoped names (ClusterRoles, bindings, webhook configurations). */
  suffix: string;
  /** Only namespaces with this label are seen by the webhook and managed by the reconciler. */
  selector: { key: string; value: string };
}

type Doc = Record<string, any>;

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
// Documents that name Lull's namespace inside values (CEL): every mention moves with it.
const NAMES_NAMESPACE = new Set(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);

function container(doc: Doc): Doc {
  return doc.spec.template.spec.containers[0];
}

/** Pure: the rendered manifests of deploy/, isolated. */
export function isolate(docs: readonly Doc[], iso: Isolation): Doc[] {
  const renamed = (name: string) => `${name}${iso.suffix}`;
  return docs.map((original) => {
    const doc: Doc = NAMES_NAMESPACE.has(original.kind) ? JSON.parse(JSON.stringify(original).replaceAll(SYSTEM_NAMESPACE, iso.namespace)) : structuredClone(original);
    const { kind } = doc;
    if (kind === 'Namespace') {
      doc.metadata.name = iso.namespace;
      return doc;
    }
    if (CLUSTER_SCOPED.has(kind)) doc.metadata.name = renamed(doc.metadata.name);
    else if (doc.metadata.namespace === SYSTEM_NAMESPACE) doc.metadata.namespace = iso.namespace;

    if (kind === 'ClusterRoleBinding') {
      doc.roleRef.name = renamed(doc.roleRef.name);
      for (const s of doc.subjects ?? []) if (s.namespace === SYSTEM_NAMESPACE) s.namespace = iso.namespace;
    }
    if (kind === 'ValidatingAdmissionPolicyBinding') doc.spec.policyName = renamed(doc.spec.policyName);
    if (kind === 'RoleBinding') for (const s of doc.subjects ?? []) if (s.namespace === SYSTEM_NAMESPACE) s.namespace = iso.namespace;
    if (kind === 'ClusterRole') {
      // The webhook may patch only its own configurations, named here with the suffix.
      for (const rule of doc.rules ?? []) if (rule.resourceNames && (rule.resources ?? []).some((r: string) => r.endsWith('webhookconfigurations'))) rule.resourceNames = rule.resourceNames.map(renamed);
    }
    if (kind === 'MutatingWebhookConfiguration' || kind === 'ValidatingWebhookConfiguration') {
      for (const webhook of doc.webhooks) {
        webhook.clientConfig.service.namespace = iso.namespace;
        webhook.namespaceSelector = { matchLabels: { [iso.selector.key]: iso.selector.value } };
      }
    }
    if (kind === 'Deployment' && doc.metadata.name === 'lull-webhook') {
      const args: string[] = container(doc).args;
      for (const flag of ['--mutating-config', '--validating-config']) {
        const i = args.indexOf(flag);
        if (i >= 0) args[i + 1] = renamed(args[i + 1]!);
      }
    }
    if (kind === 'Deployment' && doc.metadata.name === 'lull-reconciler') {
      container(doc).args.push('--namespace-selector', `${iso.selector.key}=${iso.selector.value}`, '--interceptor-namespace', iso.namespace);
    }
    return doc;
  });
}

/** `kubectl kustomize deploy/`, as documents. */
export async function renderDeploy(kubectl: Kubectl): Promise<Doc[]> {
  return parseAllDocuments(await kubectl(['kustomize', resolve(REPO, 'deploy')])).map((d) => d.toJS() as Doc);
}

export function toYaml(docs: readonly Doc[]): string {
  return docs.map((d) => stringify(d)).join('---\n');
}

export interface Installed {
  /** The manifests as applied. */
  file: string;
  docs: Doc[];
  uninstall(): Promise<void>;
}

/** Writes the isolated manifests to `file`, applies them and waits for every part to roll out. */
export async function installIsolated(kubectl: Kubectl, iso: Isolation, file: string): Promise<Installed> {
  const docs = isolate(await renderDeploy(kubectl), iso);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, toYaml(docs));
  await kubectl(['apply', '-f', file]);
  for (const d of docs.filter((x) => x.kind === 'Deployment')) await kubectl(['rollout', 'status', `deploy/${d.metadata.name}`, '-n', iso.namespace, '--timeout=240s']);
  return {
    file,
    docs,
    async uninstall() {
      await kubectl.run(['delete', '-f', file, '--ignore-not-found', '--wait=false']);
    },
  };
}
