import { describe, expect, it } from 'vitest';
import { actionForKey, isSentimentProject, keyForLabel, labelIndexForKey, labelTone } from './label-keys';

const press = (key: string, extra: Partial<KeyboardEvent> = {}) => ({ key, ctrlKey: false, metaKey: false, altKey: false, target: null, ...extra });

describe('label keys', () => {
  it('maps 1-9 then letters, skipping reserved action keys', () => {
    expect([0, 8, 9, 10].map(keyForLabel)).toEqual(['1', '9', 'a', 'b']);
    expect(keyForLabel(9 + 18)).toBe('t'); // 's' is skip
    expect(labelIndexForKey('a', 12)).toBe(9);
    expect(labelIndexForKey('5', 3)).toBe(-1);
  });

  it('turns keys into actions', () => {
    expect(actionForKey(press('2'), 3)).toEqual({ type: 'label', index: 1 });
    expect(actionForKey(press('Enter'), 3)).toEqual({ type: 'confirm' });
    expect(actionForKey(press('Backspace'), 3)).toEqual({ type: 'back' });
    expect(actionForKey(press('ArrowLeft'), 3)).toEqual({ type: 'back' });
    expect(actionForKey(press('s'), 3)).toEqual({ type: 'skip' });
    expect(actionForKey(press('0'), 3)).toBeNull();
    expect(actionForKey(press('0'), 3, { noneKey: true })).toEqual({ type: 'none' });
  });

  it('leaves keys with modifiers or typed into fields alone', () => {
    expect(actionForKey(press('1', { ctrlKey: true }), 3)).toBeNull();
    const input = document.createElement('input');
    expect(actionForKey(press('1', { target: input }), 3)).toBeNull();
  });

  it('colours sentiment-like labels', () => {
    expect(labelTone('negative')).toBe('negative');
    expect(labelTone('Positive')).toBe('positive');
    expect(labelTone('cat')).toBeUndefined();
    expect(isSentimentProject(['negative', 'positive'])).toBe(true);
    expect(isSentimentProject(['cat', 'dog'])).toBe(false);
  });
});
