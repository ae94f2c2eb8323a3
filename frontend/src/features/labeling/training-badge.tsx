'use client';
import { useState } from 'react';
import type { ProjectStatus } from '@/lib/api/types';
import { formatEta } from '@/lib/time';
import { Badge } from '@/components/ui/misc';

type Tone = 'neutral' | 'accent' | 'success';

export interface TrainingState {
  tone: Tone;
  text: string;
  title: string;
}

/**
 * What the model is doing, in a few words: "training…" while a head trains on the latest
 * labels, "model v12 ready" once a version newer than the one this page started with is
 * active, "model v11" otherwise. `since`: the version the page started with.
 */
export function trainingState(status: ProjectStatus | undefined, since: number | null | undefined): TrainingState | null {
  if (!status) return null;
  const job = status.training_progress;
  const eta = formatEta(job?.eta_seconds);
  if (job?.type === 'finetune')
    return { tone: 'accent', text: `fine-tuning… ${Math.round(job.progress * 100)}%`, title: [job.message, eta].filter(Boolean).join(' · ') };
  // `training` without a job row: a head training asked for or running (it makes no row until it starts)
  if (job?.type === 'train_head' || (status.training && !job))
    return { tone: 'accent', text: 'training…', title: `A model trains on the latest labels${eta ? `; ${eta}` : ''}` };
  if (job && (job.type === 'ingest' || job.type === 'embed'))
    return { tone: 'accent', text: 'processing new items…', title: [job.message, eta].filter(Boolean).join(' · ') };
  const version = status.model_version;
  if (version == null) return { tone: 'neutral', text: 'no model yet', title: 'A model trains after the first few labels' };
  const labels = status.labels_in_model != null ? `, trained on ${status.labels_in_model.toLocaleString()} labels` : '';
  if (since !== undefined && (since == null || version > since))
    return { tone: 'success', text: `model v${version} ready`, title: `A new model is active${labels}; predictions come from it now` };
  return { tone: 'neutral', text: `model v${version}`, title: `The active model${labels}` };
}

/** The labeler's model badge; remembers the version the page started with. */
export function TrainingBadge({ status }: { status: ProjectStatus | undefined }) {
  // undefined until the first status arrives: the version then is "old", later ones are news
  const [since, setSince] = useState<number | null | undefined>(undefined);
  if (status && since === undefined) setSince(status.model_version ?? null);
  const state = trainingState(status, since === undefined ? undefined : since);
  if (!state) return null;
  return (
    <span data-testid="training-badge" data-tone={state.tone}>
      <Badge tone={state.tone} title={state.title}>
        {state.text}
      </Badge>
    </span>
  );
}
