import { describe, expect, it } from 'vitest';
import { EMPTY, filtersFrom, itemQuery, nextSort, PRESETS, presetActive, withFilters } from './item-filters';

describe('item filters in the URL', () => {
  it('round-trip through the query string and keep the project id', () => {
    const filters = { ...EMPTY, label: 'positive', q: '  refund ', sort: '-uncertainty' as const, view: 'likely_error' as const };
    const params = withFilters(new URLSearchParams('project=3&dataset=old'), filters);
    expect(params.get('project')).toBe('3');
    expect(params.get('dataset')).toBeNull(); // emptied
    expect(params.get('q')).toBe('refund');
    expect(filtersFrom(params)).toEqual({ ...filters, q: 'refund' });
  });

  it('drop values a stale link may carry', () => {
    const filters = filtersFrom(new URLSearchParams('project=3&sort=nope&view=bogus&status=maybe&annotator=4'));
    expect(filters).toEqual({ ...EMPTY, annotator: '4' });
  });

  it('page by keyset in id order and by offset when the server orders the list', () => {
    expect(itemQuery({ ...EMPTY, label: 'a' }, 120, 50)).toMatchObject({ label: 'a', after: 120, offset: undefined, sort: undefined, quality: undefined });
    expect(itemQuery({ ...EMPTY, sort: 'confidence' }, 120, 50)).toMatchObject({ sort: 'confidence', after: undefined, offset: 50 });
    expect(itemQuery({ ...EMPTY, view: 'near_duplicate' }, undefined, 0)).toMatchObject({ quality: 'near_duplicate', offset: undefined });
  });

  it('sort a column descending first, then ascending, then not', () => {
    expect(nextSort('', 'uncertainty')).toBe('-uncertainty');
    expect(nextSort('-uncertainty', 'uncertainty')).toBe('uncertainty');
    expect(nextSort('uncertainty', 'uncertainty')).toBe('');
    expect(nextSort('-confidence', 'uncertainty')).toBe('-uncertainty');
  });

  it('have one active preset for each view', () => {
    for (const view of ['', 'label_disagrees', 'likely_error', 'near_duplicate'] as const) {
      const active = PRESETS.filter((preset) => presetActive(preset, { ...EMPTY, view, label: 'x' }));
      expect(active.map((preset) => preset.apply.view)).toEqual([view]);
    }
  });
});
