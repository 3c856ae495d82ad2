// The Helm chart as a function of deploy/'s rendered manifests (pure): which fields become values, and
// where the hand-written helpers of templates/_helpers.tpl go in. Generated, so deploy/ stays the one
// source of what Lull installs; `helm template` with the default values renders exactly that
// (test/unit/deploy/chart.test.ts checks it with the real helm).
import { stringify } from 'yaml';

export type Doc = Record<string, any>;

/** A field of a document that becomes a value: where it is, and the value's path in values.yaml. */
interface Hole {
  get: (doc: Doc) => unknown;
  set: (doc: Doc, marker: string) => void;
  value: string;
  /** Always a string in the manifest (ConfigMap data), whatever type the user gives in values. */
  text?: boolean;
}

const PARTS = ['webhook', 'reconciler', 'interceptor'] as const;
export const SYSTEM_NAMESPACE = 'lull-system';
const partOf = (doc: Doc): string | undefined => doc.metadata?.labels?.['app.kubernetes.io/component'];
const isPart = (doc: Doc): boolean => doc.kind === 'Deployment' && (PARTS as readonly string[]).includes(partOf(doc) ?? '');
const container = (doc: Doc) => doc.spec.template.spec.containers[0];

/** Pure: the holes of one document. */
function holes(doc: Doc): Hole[] {
  const part = partOf(doc);
  const out: Hole[] = [];
  if (isPart(doc)) {
    const spec = (d: Doc) => d.spec.template.spec;
    out.push(
      { get: (d) => d.spec.replicas, set: (d, m) => (d.spec.replicas = m), value: `${part}.replicas` },
      { get: (d) => container(d).imagePullPolicy, set: (d, m) => (container(d).imagePullPolicy = m), value: 'image.pullPolicy' },
      { get: (d) => container(d).resources, set: (d, m) => (container(d).resources = m), value: `${part}.resources` },
      { get: (d) => container(d).securityContext, set: (d, m) => (container(d).securityContext = m), value: `${part}.securityContext` },
      { get: (d) => spec(d).securityContext, set: (d, m) => (spec(d).securityContext = m), value: `${part}.podSecurityContext` },
      { get: (d) => spec(d).affinity, set: (d, m) => (spec(d).affinity = m), value: `${part}.affinity` },
    );
    const env: Doc[] = container(doc).env ?? [];
    const level = env.findIndex((e) => e.name === 'LULL_LOG_LEVEL');
    if (level >= 0) out.push({ get: (d) => container(d).env[level].value, set: (d, m) => (container(d).env[level].value = m), value: 'logLevel' });
  }
  if (doc.kind === 'ConfigMap' && doc.metadata.name === 'lull-defaults') {
    for (const key of Object.keys(doc.data ?? {})) {
      const camel = key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      out.push({ get: (d) => d.data[key], set: (d, m) => (d.data[key] = m), value: `defaults.${camel}`, text: true });
    }
  }
  if (doc.kind === 'MutatingWebhookConfiguration' || doc.kind === 'ValidatingWebhookConfiguration') {
    (doc.webhooks as Doc[]).forEach((_, i) => {
      out.push(
        { get: (d) => d.webhooks[i].failurePolicy, set: (d, m) => (d.webhooks[i].failurePolicy = m), value: 'webhook.failurePolicy' },
        { get: (d) => d.webhooks[i].timeoutSeconds, set: (d, m) => (d.webhooks[i].timeoutSeconds = m), value: 'webhook.timeoutSeconds' },
      );
    });
  }
  return out;
}

const MARK = (path: string, text = false) => `__HELM_${text ? 'TEXT' : 'VALUE'}__${path}__`;
const MARKED = /"?__HELM_(VALUE|TEXT)__([A-Za-z0-9.]+)__"?/g;
/** A scalar put in by a named template of _helpers.tpl, e.g. the image reference. */
const SCALAR = (name: string) => `__HELM_SCALAR__${name}__`;
const SCALARS = /"?__HELM_SCALAR__([A-Za-z0-9.]+)__"?/g;
/** A named template's output inside a longer string (CEL text of the admission policies), unquoted. */
const INLINE = (name: string) => `__HELM_INLINE__${name}__`;
const INLINES = /__HELM_INLINE__([A-Za-z0-9.]+)__/g;
/** A map entry or list item replaced by the lines of a named template, indented where it stands. */
const INCLUDE = (name: string, part = '') => `__HELM_INCLUDE__${name}__${part}__`;
const INCLUDES = /^( *)(- )?"?__HELM_INCLUDE__([A-Za-z0-9.]+)__([a-z]*)__"?(: null)?$/gm;

function setPath(target: Doc, path: string, value: unknown): void {
  const keys = path.split('.');
  let at = target;
  for (const key of keys.slice(0, -1)) at = at[key] ??= {};
  at[keys.at(-1)!] = value;
}

function getPath(source: Doc, path: string): unknown {
  return path.split('.').reduce<any>((at, key) => (at === undefined ? undefined : at[key]), source);
}

/** Pure: deploy/'s image reference as repository and tag. */
export function splitImage(ref: string): { repository: string; tag: string } {
  const colon = ref.lastIndexOf(':');
  if (colon < 0 || ref.slice(colon).includes('/')) return { repository: ref, tag: '' };
  return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}

/** Pure: every string under `value` with Lull's namespace and image put in by the helpers (policies' CEL names both). */
function inlineNamespaceAndImage(value: unknown, image: string): unknown {
  if (typeof value === 'string') return value.replaceAll(image, INLINE('lull.image')).replaceAll(SYSTEM_NAMESPACE, INLINE('lull.namespace'));
  if (Array.isArray(value)) return value.map((v) => inlineNamespaceAndImage(v, image));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inlineNamespaceAndImage(v, image)]));
  return value;
}

/** Pure: the namespace and the insertion points of the helpers, put into one document. */
function addIncludes(doc: Doc, image: string): void {
  const part = partOf(doc);
  if (doc.kind === 'ValidatingAdmissionPolicy' || doc.kind === 'ValidatingAdmissionPolicyBinding') doc.spec = inlineNamespaceAndImage(doc.spec, image);
  if (doc.metadata.namespace === SYSTEM_NAMESPACE) doc.metadata.namespace = SCALAR('lull.namespace');
  for (const s of doc.subjects ?? []) if (s.namespace === SYSTEM_NAMESPACE) s.namespace = SCALAR('lull.namespace');
  for (const w of doc.webhooks ?? []) {
    if (w.clientConfig?.service?.namespace === SYSTEM_NAMESPACE) w.clientConfig.service.namespace = SCALAR('lull.namespace');
    for (const e of w.namespaceSelector?.matchExpressions ?? []) e.values = (e.values as string[]).map((v) => (v === SYSTEM_NAMESPACE ? SCALAR('lull.namespace') : v));
  }
  doc.metadata.labels = { ...doc.metadata.labels, [INCLUDE('lull.labels')]: null };
  if (!isPart(doc)) return;
  const template = doc.spec.template;
  template.metadata.annotations = { ...template.metadata.annotations, [INCLUDE('lull.podAnnotations', part)]: null };
  template.metadata.labels = { ...template.metadata.labels, [INCLUDE('lull.podLabels', part)]: null };
  template.spec[INCLUDE('lull.podSpec', part)] = null;
  const c = container(doc);
  c.image = SCALAR('lull.image');
  c.env = [...(c.env ?? []), INCLUDE('lull.extraEnv')];
  const args: string[] = c.args ?? [];
  const sidecar = args.indexOf('--sidecar-image');
  if (sidecar >= 0) args[sidecar + 1] = SCALAR('lull.image');
  if (part === 'webhook') {
    c.args = [...args, INCLUDE('lull.webhookArgs')];
    const https = (c.ports as Doc[]).find((p) => p.name === 'https');
    if (https) https.containerPort = MARK('webhook.port');
  }
}

export interface Chart {
  values: Doc;
  /** File name (under templates/) to its text. */
  templates: Map<string, string>;
}

/** Which template file a document goes to: one per part, plus the defaults. */
function fileOf(doc: Doc): string {
  return `${partOf(doc) ?? 'lull'}.yaml`;
}

export const GENERATED = '# Generated by scripts/build-chart.ts from `kubectl kustomize deploy/`: edit deploy/ (or scripts/chart.ts), then run it again.';

/** Pure: one document's template text. */
function templateOf(doc: Doc): string {
  return stringify(doc, { lineWidth: 0 })
    .replace(INCLUDES, (_, indent: string, _item: string | undefined, name: string, part: string) => {
      const arg = part ? `(dict "root" $ "part" ${JSON.stringify(part)})` : '$';
      return `${indent}{{- include ${JSON.stringify(name)} ${arg} | trim | nindent ${indent.length} }}`;
    })
    .replace(SCALARS, (_, name: string) => `{{ include ${JSON.stringify(name)} $ | quote }}`)
    .replace(INLINES, (_, name: string) => `{{ include ${JSON.stringify(name)} $ }}`)
    .replace(MARKED, (_, kind: string, path: string) => `{{ ${kind === 'TEXT' ? 'quote' : 'toJson'} .Values.${path} }}`);
}

/**
 * Pure. A value taken in two places must agree in both. The Namespace is left out: Helm installs into
 * the release namespace (`helm install -n lull-system --create-namespace`).
 */
export function templatize(docs: readonly Doc[]): Chart {
  const values: Doc = {};
  const templates = new Map<string, string[]>();
  const partImage = docs.filter(isPart).map((d) => container(d).image as string)[0] ?? '';
  for (const original of docs) {
    if (original.kind === 'Namespace') continue;
    const doc = structuredClone(original);
    for (const hole of holes(original)) {
      const value = hole.get(original);
      const known = getPath(values, hole.value);
      if (known !== undefined && JSON.stringify(known) !== JSON.stringify(value)) throw new Error(`${hole.value} is ${JSON.stringify(known)} in one place and ${JSON.stringify(value)} in another`);
      setPath(values, hole.value, value);
      hole.set(doc, MARK(hole.value, hole.text));
    }
    if (isPart(original)) {
      const image = splitImage(container(original).image);
      const known = getPath(values, 'image.repository');
      if (known !== undefined && known !== image.repository) throw new Error(`image.repository is ${JSON.stringify(known)} in one place and ${JSON.stringify(image.repository)} in another`);
      setPath(values, 'image.repository', image.repository);
      setPath(values, 'image.tag', image.tag);
      if (partOf(original) === 'webhook') setPath(values, 'webhook.port', (container(original).ports as Doc[]).find((p) => p.name === 'https')?.containerPort);
    }
    addIncludes(doc, partImage);
    const file = fileOf(doc);
    templates.set(file, [...(templates.get(file) ?? []), templateOf(doc)]);
  }
  return { values, templates: new Map([...templates].map(([file, texts]) => [file, `${GENERATED}\n${texts.map((t) => `---\n${t}`).join('')}`])) };
}
