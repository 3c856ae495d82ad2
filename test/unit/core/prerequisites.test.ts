// The one-line stops of the CLI and the benchmarks. The API server is a stand-in here (a real one needs
// the local cluster: the e2e test covers that); its answers are the ones kube-apiserver gives.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeClient, type KubeClient } from '../../../core/kube-client.ts';
import { ensureNamespace, lullMissing, requireCluster, requireKubeconfig, requireNamespace } from '../../../core/prerequisites.ts';

function clientFor(server: string): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server, skipTLSVerify: true }], users: [{ name: 'u' }], contexts: [{ name: 'c', cluster: 'c', user: 'u' }], currentContext: 'c' });
  return kubeClient(kc);
}

let api: Server;
let client: KubeClient;
const namespaces = new Set(['default']);
let webhookConfigs = 0;

beforeAll(async () => {
  api = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const send = (code: number, body: object) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const ns = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(url.pathname);
    if (url.pathname === '/version') return send(200, { gitVersion: 'v1.36.3' });
    if (ns) return namespaces.has(ns[1]!) ? send(200, { metadata: { name: ns[1] } }) : send(404, { kind: 'Status', reason: 'NotFound', message: `namespaces "${ns[1]}" not found` });
    if (url.pathname === '/api/v1/namespaces' && req.method === 'POST') {
      let body = '';
      req.on('data', (d) => (body += d)).on('end', () => {
        const name = JSON.parse(body).metadata.name;
        if (namespaces.has(name)) return send(409, { kind: 'Status', reason: 'AlreadyExists', message: 'exists' });
        namespaces.add(name);
        send(201, {});
      });
      return;
    }
    if (url.pathname === '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations') return send(200, { items: Array.from({ length: webhookConfigs }, () => ({})) });
    send(404, { kind: 'Status', reason: 'NotFound', message: 'no' });
  });
  api.listen(0, '127.0.0.1');
  await once(api, 'listening');
  client = clientFor(`http://127.0.0.1:${(api.address() as { port: number }).port}`);
});
afterAll(() => api.close());

describe('prerequisites', () => {
  it('no kubeconfig, or no cluster behind it: says where it looked and how to start one', async () => {
    expect(() => requireKubeconfig('/nonexistent/kubeconfig')).toThrow('no cluster at /nonexistent/kubeconfig: that kubeconfig does not exist; start one with `npm run cluster -- up`');
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as { port: number }).port;
    closed.close();
    await expect(requireCluster(clientFor(`http://127.0.0.1:${port}`), '/tmp/kubeconfig')).rejects.toThrow(
      `no cluster at http://127.0.0.1:${port} (from /tmp/kubeconfig): connect ECONNREFUSED 127.0.0.1:${port}; start one with \`npm run cluster -- up\``,
    );
    await expect(requireCluster(client, '/tmp/kubeconfig')).resolves.toBeUndefined();
  });

  it('a missing namespace stops with the fix; ensureNamespace creates it once', async () => {
    await expect(requireNamespace(client, 'lull-system')).rejects.toThrow('namespace lull-system does not exist; create it: kubectl create namespace lull-system');
    expect(await ensureNamespace(client, 'lull-system')).toBe(true);
    expect(await ensureNamespace(client, 'lull-system')).toBe(false);
    await expect(requireNamespace(client, 'lull-system')).resolves.toBeUndefined();
  });

  it('knows whether Lull is installed by its webhook configuration', async () => {
    webhookConfigs = 0;
    expect(await lullMissing(client)).toBe('no MutatingWebhookConfiguration labelled app.kubernetes.io/part-of=lull');
    webhookConfigs = 1;
    expect(await lullMissing(client)).toBeUndefined();
  });
});
