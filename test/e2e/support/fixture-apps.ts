// The apps e2e tests and benchmarks deploy: test/fixtures/http-app.ts (answers `hello from <name>`)
// or a command of the test's own, in a Deployment selected by `app=<name>`, and its Service on port 80.
import { resolve } from 'node:path';
import { REPO, type Kubectl } from './kubectl.ts';

export const FIXTURE_APP = resolve(REPO, 'test/fixtures/http-app.ts');

export interface AppOptions {
  namespace?: string;
  annotations?: Record<string, string>;
  /** The Deployment's own labels. */
  labels?: Record<string, string>;
  replicas?: number;
  /** Extra arguments of the fixture app (`--delay 3000`). */
  args?: string[];
  /** Instead of the fixture app; [] runs the image's own entrypoint. */
  command?: string[];
  image?: string;
  /** A readiness probe on `/` every second. */
  probed?: boolean;
}

export function fixtureApp(name: string, options: AppOptions = {}) {
  const command = options.command ?? ['node', FIXTURE_APP, '--port', '8080', '--name', name, ...(options.args ?? [])];
  const container: Record<string, any> = { name: 'app', image: options.image ?? 'node:24', ...(command.length > 0 ? { command } : {}), ports: [{ name: 'http', containerPort: 8080 }] };
  if (options.probed) container.readinessProbe = { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: options.namespace, labels: options.labels, annotations: options.annotations },
    spec: {
      replicas: options.replicas ?? 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [container] } },
    },
  };
}

/** A command run by node as the app (`node -e script`). */
export const scriptApp = (name: string, script: string, options: Omit<AppOptions, 'command'> = {}) => fixtureApp(name, { ...options, command: ['node', '-e', script] });

export function appService(name: string, namespace?: string, metadata: { annotations?: Record<string, string>; labels?: Record<string, string> } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, ...metadata },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
}

/** Applies an app's Deployment and Service (built without a namespace) in `namespace`, one app after another. */
export async function applyApps(kubectl: Kubectl, namespace: string, apps: Iterable<{ deployment: { metadata: object }; service: { metadata: object } }>): Promise<void> {
  for (const { deployment, service } of apps) {
    await kubectl.apply({ ...deployment, metadata: { ...deployment.metadata, namespace } }, { ...service, metadata: { ...service.metadata, namespace } });
  }
}
