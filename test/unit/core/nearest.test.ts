import { describe, expect, it } from 'vitest';
import { editDistance, nearest } from '../../../core/nearest.ts';

describe('editDistance (Damerau-Levenshtein, optimal string alignment)', () => {
  it('counts inserts, deletes, substitutions and swaps of neighbours as one edit each', () => {
    expect(editDistance('idle-after', 'idle-after')).toBe(0);
    expect(editDistance('idle-afer', 'idle-after')).toBe(1); // a letter missing
    expect(editDistance('idle-afterr', 'idle-after')).toBe(1); // one too many
    expect(editDistance('idle-aftar', 'idle-after')).toBe(1); // one wrong
    expect(editDistance('idle-atfer', 'idle-after')).toBe(1); // two swapped
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('nearest', () => {
  const keys = ['lull.dev/enabled', 'lull.dev/idle-after', 'lull.dev/wake-replicas', 'lull.dev/hold-timeout', 'lull.dev/max-held'];
  it('finds the key a typo meant, within three edits', () => {
    expect(nearest('lull.dev/idle-afer', keys)).toBe('lull.dev/idle-after');
    expect(nearest('lull.dev/enable', keys)).toBe('lull.dev/enabled');
    expect(nearest('lull.dev/idleafter', keys)).toBe('lull.dev/idle-after');
    expect(nearest('lull.dev/max_held', keys)).toBe('lull.dev/max-held');
    expect(nearest('lull.dev/wake-replica', keys)).toBe('lull.dev/wake-replicas');
  });
  it('suggests nothing for a word that is not close to any', () => {
    expect(nearest('lull.dev/schedule', keys)).toBeUndefined();
    expect(nearest('lull.dev/idle', keys)).toBeUndefined();
  });
});
