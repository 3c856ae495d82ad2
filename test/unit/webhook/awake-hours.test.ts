import { describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../../webhook/admission-review.ts';
import { validate } from '../../../webhook/validate.ts';

function request(annotations: Record<string, string>, old?: Record<string, string>): AdmissionRequest {
  const deployment = (a: Record<string, string>) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', annotations: a } });
  return {
    uid: 'u1',
    kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    operation: old ? 'UPDATE' : 'CREATE',
    namespace: 'shop',
    userInfo: { username: 'kubernetes-admin' },
    object: deployment(annotations),
    oldObject: old ? deployment(old) : null,
  } as unknown as AdmissionRequest;
}
const context = { ownNamespace: 'lull-system' };

describe('/validate: awake-hours, outside-hours, wake-at-start', () => {
  it('admits good schedules and settings', () => {
    const good = { 'lull.dev/awake-hours': 'Mon-Fri 08:00-12:00,13:00-19:00; Sat 10:00-14:00 Europe/Paris', 'lull.dev/outside-hours': 'refuse', 'lull.dev/wake-at-start': 'true' };
    expect(validate(request(good), context).allowed).toBe(true);
  });

  it('refuses a bad schedule naming the key, the value, the token at fault and what is allowed', () => {
    const response = validate(request({ 'lull.dev/awake-hours': 'Mon-Fry 08:00-19:00 Europe/Paris' }), context);
    expect(response.allowed).toBe(false);
    expect(response.status?.code).toBe(422);
    expect(response.status?.message).toMatch(/^annotation lull\.dev\/awake-hours has value "Mon-Fry 08:00-19:00 Europe\/Paris": at "Fry", not a day: days are Mon, Tue, Wed, Thu, Fri, Sat, Sun, or a range such as Mon-Fri; allowed: days, times and an IANA time zone, such as "Mon-Fri 08:00-19:00 Europe\/Paris"/);
    expect(validate(request({ 'lull.dev/awake-hours': 'Mon-Fri 08:00-19:00 Mars/Olympus' }), context).status?.message).toContain('at "Mars/Olympus", not a time zone Lull knows');
  });

  it('refuses outside-hours and wake-at-start values other than the allowed ones', () => {
    const message = validate(request({ 'lull.dev/outside-hours': 'deny', 'lull.dev/wake-at-start': 'yes' }), context).status?.message;
    expect(message).toBe(
      'annotation lull.dev/outside-hours has value "deny": "wake" (a request wakes the app, the default) or "refuse" (503 with Retry-After until the window opens); ' +
        'annotation lull.dev/wake-at-start has value "yes": "true" (wake the app a few minutes before its awake-hours open) or "false"',
    );
  });

  it('does not judge a bad value that was already there', () => {
    const old = { 'lull.dev/awake-hours': 'weekdays' };
    expect(validate(request({ ...old, 'lull.dev/idle-after': '5m' }, old), context).allowed).toBe(true);
  });
});
