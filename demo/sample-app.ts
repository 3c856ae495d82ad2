// The demo's app: the test fixture HTTP app (test/fixtures/http-app.ts) behind a Service, opted in
// with one annotation. Pure: manifests only.
import { ENABLED, IDLE_AFTER } from '../core/annotations.ts';

export const APP = 'hello';
export const APP_PORT = 8080;

export function sampleApp(namespace: string, idleAfter: string, fixture: string) {
  const labels = { app: APP };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: APP, namespace, labels, annotations: { [ENABLED]: 'true', [IDLE_AFTER]: idleAfter } },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'app',
                // The local cluster runs a container's command on the host: `node` is the pinned Node 24.
                image: 'node:24',
                command: ['node', fixture, '--port', String(APP_PORT)],
                ports: [{ name: 'http', containerPort: APP_PORT }],
                readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: APP, namespace, labels },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    },
  ];
}
