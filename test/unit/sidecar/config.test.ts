import { describe, expect, it } from 'vitest';
import { LullError } from '../../../core/errors.ts';
import { parseSidecarConfig } from '../../../sidecar/config.ts';

function problem(env: Record<string, string>): string {
  try {
    parseSidecarConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(LullError);
    return (err as Error).message;
  }
  throw new Error('expected a LullError');
}

describe('parseSidecarConfig', () => {
  it('reads ports, admin port, drain timings and falls back to a TCP check', () => {
    const c = parseSidecarConfig({ LULL_PORTS: '9931=8080, 9932=9090', LULL_ADMIN_PORT: '9930', LULL_DRAIN_QUIET: '500ms', LULL_DRAIN_MAX: '1m' });
    expect(c.ports).toEqual([{ listen: 9931, app: 8080 }, { listen: 9932, app: 9090 }]);
    expect(c.adminPort).toBe(9930);
    expect(c.drainQuietMs).toBe(500);
    expect(c.drainMaxMs).toBe(60_000);
    expect(c.readiness).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 8080, timeoutMs: 1000 });
    const d = parseSidecarConfig({ LULL_PORTS: '9931=8080' });
    expect([d.adminPort, d.drainQuietMs, d.drainMaxMs]).toEqual([9930, 2000, 30_000]);
  });

  it("reads the node's addresses and the drain token", () => {
    const c = parseSidecarConfig({ LULL_PORTS: '9931=8080', LULL_NODE_IPS: '10.213.0.1', LULL_DRAIN_TOKEN: 'tPzT2xkqJ0d8v3zYj1Q9bJzR1v2n5mW8a0sLkQ7cX4E' });
    expect(c.nodeAddresses).toEqual(['10.213.0.1']);
    expect(c.drainToken).toBe('tPzT2xkqJ0d8v3zYj1Q9bJzR1v2n5mW8a0sLkQ7cX4E');
    const old = parseSidecarConfig({ LULL_PORTS: '9931=8080' });
    expect(old.nodeAddresses).toEqual([]);
    expect(old.drainToken).toBeUndefined();
    expect(problem({ LULL_PORTS: '9931=8080', LULL_NODE_IPS: 'node-a' })).toBe('setting LULL_NODE_IPS has value "node-a": comma-separated IP addresses (the downward API status.hostIPs)');
    // The token itself is never echoed.
    expect(problem({ LULL_PORTS: '9931=8080', LULL_DRAIN_TOKEN: 'short secret' })).toBe('setting LULL_DRAIN_TOKEN has value "(hidden)": 16 to 256 visible ASCII characters');
  });

  it('reads the timeouts and the connection cap, with defaults', () => {
    const c = parseSidecarConfig({ LULL_PORTS: '9931=8080', LULL_HEAD_TIMEOUT: '10s', LULL_IDLE_TIMEOUT: '90s', LULL_MAX_CONNECTIONS: '500' });
    expect(c.limits).toEqual({ headTimeoutMs: 10_000, idleTimeoutMs: 90_000, maxConnections: 500 });
    expect(parseSidecarConfig({ LULL_PORTS: '9931=8080' }).limits).toEqual({ headTimeoutMs: 60_000, idleTimeoutMs: 300_000, maxConnections: 10_000 });
    expect(problem({ LULL_PORTS: '9931=8080', LULL_MAX_CONNECTIONS: '0' })).toBe('setting LULL_MAX_CONNECTIONS has value "0": a whole number from 1 to 9999999');
    expect(problem({ LULL_PORTS: '9931=8080', LULL_HEAD_TIMEOUT: '0s' })).toMatch(/^setting LULL_HEAD_TIMEOUT has value "0s": a duration above 0/);
    expect(problem({ LULL_PORTS: '9931=8080', LULL_IDLE_TIMEOUT: 'soon' })).toMatch(/^setting LULL_IDLE_TIMEOUT has value "soon": a duration/);
  });

  it('uses the app container readiness probe', () => {
    const http = parseSidecarConfig({
      LULL_PORTS: '9931=8080',
      LULL_APP_READINESS: JSON.stringify({ httpGet: { path: '/ready', port: 8081, httpHeaders: [{ name: 'X-A', value: 'b' }] }, timeoutSeconds: 2 }),
    });
    expect(http.readiness).toEqual({ kind: 'http', scheme: 'http', host: '127.0.0.1', port: 8081, path: '/ready', headers: [['X-A', 'b']], timeoutMs: 2000 });
    const tcp = parseSidecarConfig({ LULL_PORTS: '9931=8080', LULL_APP_READINESS: '{"tcpSocket":{"port":"8082"}}' });
    expect(tcp.readiness).toMatchObject({ kind: 'tcp', port: 8082 });
    const exec = parseSidecarConfig({ LULL_PORTS: '9931=8080', LULL_APP_READINESS: '{"exec":{"command":["true"]}}' });
    expect(exec.readiness).toMatchObject({ kind: 'tcp', port: 8080 });
  });

  it('names the variable, the value and what is allowed', () => {
    expect(problem({})).toMatch(/^setting LULL_PORTS has value "": comma-separated listen=app/);
    expect(problem({ LULL_PORTS: '9931:8080' })).toContain('LULL_PORTS has value "9931:8080"');
    expect(problem({ LULL_PORTS: '9931=8080,9931=8081' })).toContain('each listen port once');
    expect(problem({ LULL_PORTS: '70000=8080' })).toContain('LULL_PORTS');
    expect(problem({ LULL_PORTS: '9931=8080', LULL_ADMIN_PORT: '9931' })).toContain('LULL_ADMIN_PORT has value "9931"');
    expect(problem({ LULL_PORTS: '9931=8080', LULL_DRAIN_QUIET: 'soon' })).toContain('LULL_DRAIN_QUIET has value "soon": a duration');
    expect(problem({ LULL_PORTS: '9931=8080', LULL_APP_READINESS: '{' })).toContain('LULL_APP_READINESS has value "{": JSON of a Kubernetes Probe');
    expect(problem({ LULL_PORTS: '9931=8080', LULL_APP_READINESS: '{"httpGet":{"port":"http"}}' })).toContain('named ports');
  });
});
