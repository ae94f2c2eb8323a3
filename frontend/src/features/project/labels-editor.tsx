'use client';
import { useState, type KeyboardEvent } from 'react';
import { labelTone } from '@/lib/label-keys';

/** Validation the backend applies too, so mistakes show before submitting. */
export function labelProblem(labels: string[]): string | null {
  if (!labels.length) return 'Add at least one label.';
  if (labels.some((label) => label.includes('|'))) return 'Labels may not contain "|".';
  if (labels.some((label) => label.length > 100)) return 'Labels are at most 100 characters.';
  if (new Set(labels).size !== labels.length) return 'Labels must be unique.';
  return null;
}

/** An editable list of labels: type and press Enter (or paste a comma-separated list). */
export function LabelsEditor({
  labels,
  onChange,
  locked = [],
  id,
}: {
  labels: string[];
  onChange: (labels: string[]) => void;
  /** Labels that cannot be removed (already used by annotations). */
  locked?: string[];
  id?: string;
}) {
  const [draft, setDraft] = useState('');
  const add = (text: string) => {
    const fresh = text
      .split(/[,\n]/)
      .map((part) => part.trim())
      .filter((part) => part && !labels.includes(part));
    if (fresh.length) onChange([...labels, ...Array.from(new Set(fresh))]);
    setDraft('');
  };
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'Enter' || event.key === ',') {
      event.preventDefault();
      add(draft);
    } else if (event.key === 'Backspace' && !draft && labels.length && !locked.includes(labels[labels.length - 1])) {
      onChange(labels.slice(0, -1));
    }
  };
  const move = (index: number, delta: number) => {
    const next = [...labels];
    const [label] = next.splice(index, 1);
    next.splice(index + delta, 0, label);
    onChange(next);
  };
  return (
    <div className="labels-editor">
      <ol className="label-chips">
        {labels.map((label, index) => (
          <li key={label} className={`chip ${labelTone(label) ? `tone-${labelTone(label)}` : ''}`}>
            <span className="chip-index">{index + 1}</span>
            <span>{label}</span>
            {index > 0 && (
              <button type="button" className="chip-btn" aria-label={`Move ${label} up`} onClick={() => move(index, -1)}>
                ↑
              </button>
            )}
            {!locked.includes(label) && (
              <button type="button" className="chip-btn" aria-label={`Remove ${label}`} onClick={() => onChange(labels.filter((l) => l !== label))}>
                ×
              </button>
            )}
          </li>
        ))}
      </ol>
      <div className="row">
        <input
          id={id}
          className="input"
          value={draft}
          placeholder="Type a label and press Enter (or paste a list)"
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKeyDown}
          onPaste={(e) => {
            const text = e.clipboardData.getData('text');
            if (/[,\n]/.test(text)) {
              e.preventDefault();
              add(text);
            }
          }}
          aria-label="New label"
        />
        <button type="button" className="btn btn-secondary btn-md" onClick={() => add(draft)} disabled={!draft.trim()}>
          Add
        </button>
      </div>
    </div>
  );
}
