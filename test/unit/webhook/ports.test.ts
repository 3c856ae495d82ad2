import { describe, expect, it } from 'vitest';
import { appTcpPorts, planPorts, usedPorts } from '../../../webhook/ports.ts';
import { multi, portClash, stored, web } from './fixtures.ts';

describe('planPorts', () => {
  it('starts at 9930 for the admin port and 9931 for the first fronted port', () => {
    expect(planPorts(web.spec!.template.spec!)).toEqual({ adminPort: 9930, fronted: [{ appPort: 8080, listenPort: 9931 }] });
  });

  it('skips ports the pod already declares or is probed on', () => {
    const spec = portClash.spec!.template.spec!;
    expect([...usedPorts(spec)].sort()).toEqual([9930, 9931, 9932]);
    expect(planPorts(spec)).toEqual({
      adminPort: 9933,
      fronted: [
        { appPort: 9931, listenPort: 9934 },
        { appPort: 9930, listenPort: 9935 },
      ],
    });
  });

  it('is stable: the same pod gives the same plan, and the injected sidecar is not counted as the pod’s', () => {
    const spec = multi.spec!.template.spec!;
    expect(planPorts(spec)).toEqual(planPorts(structuredClone(spec)));
    expect(planPorts(stored(multi).spec!.template.spec!)).toEqual(planPorts(spec));
  });

  it('fronts TCP ports only, each once', () => {
    const spec = {
      containers: [
        { name: 'a', ports: [{ containerPort: 53, protocol: 'UDP' }, { containerPort: 80 }] },
        { name: 'b', ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 7000, protocol: 'SCTP' }] },
      ],
    };
    expect(appTcpPorts(spec)).toEqual([80]);
    expect(planPorts(spec).fronted).toEqual([{ appPort: 80, listenPort: 9931 }]);
  });
});
