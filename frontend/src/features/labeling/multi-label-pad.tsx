'use client';
import { useState } from 'react';
import { actionForKey, keyForLabel } from '@/lib/label-keys';
import { useKeydown } from '@/lib/use-keydown';
import type { PadProps } from './single-label-pad';
import { Button } from '@/components/ui/button';
import { Kbd } from '@/components/ui/misc';

export const SUGGEST_THRESHOLD = 0.5;

/** Labels the model puts above 0.5 start checked, as suggestions; what was chosen before wins. */
export function initialSelection(labels: string[], prediction: PadProps['prediction'], previous: PadProps['previous']): Set<string> {
  if (previous) return new Set(previous);
  return new Set(labels.filter((label) => (prediction?.scores[label] ?? 0) > SUGGEST_THRESHOLD));
}

/**
 * Toggles for any-subset tasks: number keys toggle, Enter submits, 0 says none apply. Mount with key=item id.
 * Enter with nothing checked submits nothing: "none of these" is a label like any other, given on purpose
 * with 0, never by an Enter pressed before any toggle.
 */
export function MultiLabelPad({ labels, prediction, previous, onLabel, onSkip, onBack, disabled }: PadProps) {
  const [selected, setSelected] = useState(() => initialSelection(labels, prediction, previous));
  const [hint, setHint] = useState(false);
  const toggle = (label: string) => {
    setHint(false);
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(label)) next.delete(label);
      else next.add(label);
      return next;
    });
  };
  const submit = () => {
    if (!selected.size) {
      setHint(true);
      return;
    }
    onLabel(labels.filter((label) => selected.has(label)));
  };

  useKeydown((event) => {
    const action = actionForKey(event, labels.length, { noneKey: true });
    if (!action) return;
    event.preventDefault();
    if (event.repeat && action.type !== 'back') return;
    if (action.type === 'label') toggle(labels[action.index]);
    else if (action.type === 'confirm') submit();
    else if (action.type === 'none') onLabel([]);
    else if (action.type === 'skip') onSkip();
    else if (action.type === 'back') onBack();
  }, !disabled);

  return (
    <div className="stack-sm">
      {/* biome-ignore lint/a11y/useSemanticElements: a <fieldset> brings its own border and spacing; role="group" names the set the same way */}
      <div className={`toggle-grid ${labels.length > 8 ? 'toggle-grid-many' : ''}`} role="group" aria-label="Labels">
        {labels.map((label, index) => {
          const p = prediction?.scores[label];
          const on = selected.has(label);
          const suggested = p != null && p > SUGGEST_THRESHOLD;
          const key = keyForLabel(index);
          return (
            // biome-ignore lint/a11y/useSemanticElements: a toggle button with the key hint and the probability bar inside; an <input> cannot hold them
            <button
              key={label}
              type="button"
              role="checkbox"
              aria-checked={on}
              className={['toggle', on && 'toggle-on', suggested && 'toggle-suggested'].filter(Boolean).join(' ')}
              onClick={() => toggle(label)}
              disabled={disabled}
            >
              <span className="toggle-box" aria-hidden>
                {on ? '✓' : ''}
              </span>
              {key && <Kbd>{key}</Kbd>}
              <span className="toggle-text">{label}</span>
              {p != null && (
                <span className="toggle-prob" title="Model probability">
                  <span className="toggle-prob-bar" style={{ width: `${Math.round(p * 100)}%` }} />
                  <span className="toggle-prob-value">{Math.round(p * 100)}%</span>
                </span>
              )}
            </button>
          );
        })}
      </div>
      <div className="row">
        <Button variant="primary" onClick={submit} disabled={disabled || !selected.size}>
          {selected.size ? `Submit ${selected.size} label${selected.size > 1 ? 's' : ''}` : 'Nothing checked'} <Kbd>Enter</Kbd>
        </Button>
        <Button onClick={() => onLabel([])} disabled={disabled}>
          None of these <Kbd>0</Kbd>
        </Button>
      </div>
      {hint && (
        <p className="small muted" role="status" data-testid="none-hint">
          Nothing is checked. Check the labels that apply, or press <Kbd>0</Kbd> if none of them do.
        </p>
      )}
    </div>
  );
}
