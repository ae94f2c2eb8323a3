// Keyboard map for labeling: labels take 1–9, then letters; a few letters are kept for actions.

export const RESERVED_KEYS = new Set(['s', 'u']);
const LETTERS = 'abcdefghijklmnopqrstuvwxyz'.split('').filter((letter) => !RESERVED_KEYS.has(letter));
const LABEL_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', ...LETTERS];

/** The key for the label at `index`, or undefined when there are more labels than keys. */
export function keyForLabel(index: number): string | undefined {
  return LABEL_KEYS[index];
}

/** The label index a key selects, or -1. */
export function labelIndexForKey(key: string, labelCount: number): number {
  const index = LABEL_KEYS.indexOf(key.toLowerCase());
  return index >= 0 && index < labelCount ? index : -1;
}

export type LabelAction =
  | { type: 'label'; index: number }
  | { type: 'confirm' }
  | { type: 'back' }
  | { type: 'skip' }
  | { type: 'none' };

/** Keys typed into a form field, or with a modifier held, belong to the browser, not to us. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!target || typeof (target as HTMLElement).tagName !== 'string') return false;
  const element = target as HTMLElement;
  const tag = element.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || element.isContentEditable;
}

export function actionForKey(
  event: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'target'>,
  labelCount: number,
  options: { noneKey?: boolean } = {},
): LabelAction | null {
  if (event.ctrlKey || event.metaKey || event.altKey || isTypingTarget(event.target)) return null;
  const key = event.key;
  if (key === 'Enter') return { type: 'confirm' };
  if (key === 'Backspace' || key === 'ArrowLeft' || key.toLowerCase() === 'u') return { type: 'back' };
  if (key.toLowerCase() === 's') return { type: 'skip' };
  if (options.noneKey && key === '0') return { type: 'none' };
  const index = labelIndexForKey(key, labelCount);
  return index >= 0 ? { type: 'label', index } : null;
}

export type LabelTone = 'negative' | 'positive' | 'neutral';

const TONES: [RegExp, LabelTone][] = [
  [/^(neg|negative|bad|toxic|spam|angry|sad|no|false|0|-1|hate|terrible|poor)$/i, 'negative'],
  [/^(pos|positive|good|great|happy|ham|yes|true|1|love|excellent)$/i, 'positive'],
  [/^(neu|neutral|mixed|ok|okay|meh)$/i, 'neutral'],
];

/** A colour tone for sentiment-like labels; undefined for ordinary labels. */
export function labelTone(label: string): LabelTone | undefined {
  return TONES.find(([pattern]) => pattern.test(label.trim()))?.[1];
}

/** Projects whose labels all read as sentiment get coloured label buttons. */
export function isSentimentProject(labels: string[]): boolean {
  if (labels.length < 2 || labels.length > 5) return false;
  const tones = labels.map(labelTone);
  return tones.every(Boolean) && tones.includes('negative') && tones.includes('positive');
}
