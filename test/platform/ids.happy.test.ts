/** Public IDs: the documented shape, never repeated, and every character equally likely. */
import { describe, expect, it } from 'vitest';
import { BASE62 } from '../../src/lib/encoding.ts';
import { isId, newId } from '../../src/lib/ids.ts';

describe('newId', () => {
  const ids = Array.from({ length: 20_000 }, () => newId('ses'));

  it('is the prefix and 22 base62 characters, and is never repeated', () => {
    expect(ids.every((id) => isId('ses', id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('draws every base62 character equally often (within 6 %, five standard deviations)', () => {
    const counts = new Map<string, number>();
    for (const id of ids) for (const char of id.slice(4)) counts.set(char, (counts.get(char) ?? 0) + 1);
    const expected = (ids.length * 22) / BASE62.length;
    expect([...counts.keys()].sort().join('')).toBe([...BASE62].sort().join(''));
    for (const [char, count] of counts) expect({ char, off: Math.abs(count / expected - 1) < 0.06 }).toEqual({ char, off: true });
  });
});
