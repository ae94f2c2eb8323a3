'use client';
import type { PredictionLike } from '@/lib/api/types';
import { actionForKey, isSentimentProject, keyForLabel, labelTone } from '@/lib/label-keys';
import { useKeydown } from '@/lib/use-keydown';
import { Kbd } from '@/components/ui/misc';

export interface PadProps {
  labels: string[];
  prediction?: PredictionLike | null;
  /** The label(s) chosen earlier for this item, when the annotator came back to it. */
  previous?: string[] | null;
  onLabel: (labels: string[]) => void;
  onSkip: () => void;
  onBack: () => void;
  disabled?: boolean;
}

/** Label buttons for one-label-per-item tasks; number keys pick, Enter takes the model's guess. */
export function SingleLabelPad({ labels, prediction, previous, onLabel, onSkip, onBack, disabled }: PadProps) {
  const predicted = prediction?.labels[0];
  const coloured = isSentimentProject(labels);

  useKeydown((event) => {
    const action = actionForKey(event, labels.length);
    if (!action) return;
    event.preventDefault();
    if (event.repeat && action.type !== 'back') return;
    if (action.type === 'label') onLabel([labels[action.index]]);
    else if (action.type === 'confirm' && predicted && labels.includes(predicted)) onLabel([predicted]);
    else if (action.type === 'skip') onSkip();
    else if (action.type === 'back') onBack();
  }, !disabled);

  return (
    // biome-ignore lint/a11y/useSemanticElements: a <fieldset> brings its own border and spacing; role="group" names the set the same way
    <div className={`label-pad ${labels.length > 6 ? 'label-pad-many' : ''}`} role="group" aria-label="Labels">
      {labels.map((label, index) => {
        const tone = coloured ? labelTone(label) : undefined;
        const key = keyForLabel(index);
        const classes = ['label-btn', tone && `tone-${tone}`, label === predicted && 'label-btn-predicted', previous?.includes(label) && 'label-btn-previous'];
        return (
          <button key={label} type="button" className={classes.filter(Boolean).join(' ')} onClick={() => onLabel([label])} disabled={disabled}>
            {key && <Kbd>{key}</Kbd>}
            <span className="label-btn-text">{label}</span>
            {label === predicted && prediction && <span className="label-btn-prob">{Math.round((prediction.scores[label] ?? 0) * 100)}%</span>}
          </button>
        );
      })}
    </div>
  );
}
