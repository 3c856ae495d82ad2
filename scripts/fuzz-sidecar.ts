// Long run of the sidecar's differential framing fuzz (a fixed-seed slice runs in CI:
// test/unit/sidecar/differential.test.ts). Usage: node scripts/fuzz-sidecar.ts [--seed N] [--cases M]
// Prints each failure as a reproducible case (seed and bytes) and a summary; exits 1 on any failure.
import { parseArgs } from 'node:util';
import { fuzz } from '../test/fuzz/differential.ts';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '1' }, cases: { type: 'string', default: '20000' } } });
const seed = Number(values.seed);
const cases = Number(values.cases);
const started = Date.now();
const result = await fuzz(seed, cases, (kind, f) => {
  if (f.reason.startsWith('valid ')) {
    process.stdout.write(`note ${kind} seed=${f.seed}: ${f.reason}\n  bytes: ${JSON.stringify(f.bytes)}\n`);
    return;
  }
  process.stdout.write(`FAIL ${kind} seed=${f.seed}: ${f.reason}\n  bytes: ${JSON.stringify(f.bytes)}\n`);
});
for (const [kind, t] of Object.entries(result)) {
  process.stdout.write(`${kind}: ${t.cases} cases, ${t.same} same as llhttp, ${t.tunnelled} tunnelled (not HTTP/1), ${t.refused} refused by the sidecar (${t.validRefused} of them valid), ${t.failures.length} failures\n`);
}
process.stdout.write(`seeds ${seed}..${seed + cases - 1} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
process.exit(result.requests.failures.length + result.responses.failures.length > 0 ? 1 : 0);
