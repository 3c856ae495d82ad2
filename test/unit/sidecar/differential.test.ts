// A fixed-seed slice of the differential framing fuzz (test/fuzz/): the sidecar frames requests and
// responses exactly as llhttp (a real node:http) does, or refuses. The long run:
// `node scripts/fuzz-sidecar.ts --seed N --cases M`.
import { describe, expect, it } from 'vitest';
import { fuzz } from '../../fuzz/differential.ts';
import { requestCase, responseCase } from '../../fuzz/generate.ts';

describe('differential framing fuzz against llhttp', () => {
  it('generates the same bytes for the same seed', () => {
    expect(requestCase(42)).toEqual(requestCase(42));
    expect(responseCase(42)).toEqual(responseCase(42));
    expect(requestCase(42).bytes).not.toBe(requestCase(43).bytes);
  });

  it('finds no case where the sidecar and llhttp frame differently (seeds 1-800)', async () => {
    const { requests, responses } = await fuzz(1, 800);
    const failures = [...requests.failures, ...responses.failures].map((f) => `seed ${f.seed}: ${f.reason}\n  ${JSON.stringify(f.bytes)}`);
    expect(failures).toEqual([]);
    // Valid streams always pass, and the slice exercises every outcome.
    expect(requests.validRefused + responses.validRefused).toBe(0);
    expect(requests.same).toBeGreaterThan(600);
    expect(requests.refused).toBeGreaterThan(10);
    expect(requests.tunnelled).toBeGreaterThan(0);
    expect(responses.refused).toBeGreaterThan(5);
  }, 60_000);
});
