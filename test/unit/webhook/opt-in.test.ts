import { describe, expect, it } from 'vitest';
import { optIn } from '../../../webhook/opt-in.ts';
import { annotationProblems } from '../../../webhook/annotation-problems.ts';
import { isLull, ownedEdits } from '../../../webhook/ownership.ts';

const labelled = { 'lull.dev/inject': 'enabled' };

describe('optIn', () => {
  it.each([
    ['annotation true', 'shop', { 'lull.dev/enabled': 'true' }, {}, 'inject'],
    ['annotation false in a labelled namespace', 'shop', { 'lull.dev/enabled': 'false' }, labelled, 'strip'],
    ['labelled namespace, no annotation', 'shop', undefined, labelled, 'inject'],
    ['unlabelled namespace, no annotation', 'shop', undefined, {}, 'strip'],
    ['namespace not known yet', 'shop', undefined, undefined, 'leave'],
    ['namespace not known yet, annotation true', 'shop', { 'lull.dev/enabled': 'true' }, undefined, 'inject'],
    ['a bad value (validation refuses it)', 'shop', { 'lull.dev/enabled': 'yes' }, labelled, 'leave'],
    ['kube-system', 'kube-system', { 'lull.dev/enabled': 'true' }, labelled, 'leave'],
    ['its own namespace', 'lull-system', { 'lull.dev/enabled': 'true' }, labelled, 'leave'],
    ['another own namespace', 'lull', { 'lull.dev/enabled': 'true' }, labelled, 'leave'],
  ] as const)('%s', (_, namespace, annotations, labels, want) => {
    const own = namespace === 'lull' ? 'lull' : 'lull-system';
    expect(optIn(namespace, annotations, labels, own)).toBe(want);
  });
});

describe('ownership', () => {
  it('knows Lull by the service accounts of its namespace', () => {
    expect(isLull('system:serviceaccount:lull-system:lull-reconciler', 'lull-system')).toBe(true);
    expect(isLull('system:serviceaccount:lull-systemx:evil', 'lull-system')).toBe(false);
    expect(isLull('system:serviceaccount:default:lull-system', 'lull-system')).toBe(false);
    expect(isLull(undefined, 'lull-system')).toBe(false);
    expect(isLull('lull-reconciler-dev', 'lull-system', ['lull-reconciler-dev'])).toBe(true);
  });

  it('counts setting and changing as edits, removing not', () => {
    const old = { metadata: { annotations: { 'lull.dev/state': 'awake', 'lull.dev/slept-at': 'x' } } };
    const now = { metadata: { annotations: { 'lull.dev/state': 'sleeping', 'lull.dev/replicas-before-sleep': '2' } } };
    expect(ownedEdits(now, old, ['lull.dev/state', 'lull.dev/replicas-before-sleep', 'lull.dev/slept-at'])).toEqual(['lull.dev/state', 'lull.dev/replicas-before-sleep']);
    expect(ownedEdits(now, null, ['lull.dev/state'])).toEqual(['lull.dev/state']);
  });
});

describe('annotationProblems', () => {
  it('judges only values that are new or changed', () => {
    expect(annotationProblems({ 'lull.dev/hold-timeout': '2h' }, undefined)).toEqual([
      { key: 'lull.dev/hold-timeout', value: '2h', allowed: 'a duration such as 30s or 2m, from 1s to 10m (the longest Lull holds a connection)' },
    ]);
    expect(annotationProblems({ 'lull.dev/hold-timeout': '2h' }, { 'lull.dev/hold-timeout': '2h' })).toEqual([]);
    expect(annotationProblems({ 'lull.dev/idle-after': '1h30m', 'lull.dev/wake-replicas': '3' }, undefined)).toEqual([]);
  });

  it('admits a sleep request that is a time, and names what is allowed otherwise', () => {
    expect(annotationProblems({ 'lull.dev/sleep-requested-at': '2026-01-01T00:00:00.123Z' }, undefined)).toEqual([]);
    expect(annotationProblems({ 'lull.dev/sleep-requested-at': 'now' }, undefined)).toEqual([
      { key: 'lull.dev/sleep-requested-at', value: 'now', allowed: 'a time such as 2026-01-01T00:00:00Z (lull sleep sets it to now)' },
    ]);
  });
});
