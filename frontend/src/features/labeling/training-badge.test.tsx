import { describe, expect, it } from 'vitest';
import type { ProjectStatus } from '@/lib/api/types';
import { trainingState } from './training-badge';

const status = (extra: Partial<ProjectStatus>): ProjectStatus => ({ items_total: 300, items_ready: 300, labeled: 40, unlabeled: 260, suggested: 0, training: false, training_progress: null, model_version: 11, labels_in_model: 38, metrics: null, annotators: [], ...extra }) as ProjectStatus;

describe('trainingState', () => {
  it('names what the model is doing', () => {
    expect(trainingState(undefined, undefined)).toBeNull();
    expect(trainingState(status({ training: true }), 11)?.text).toBe('training…');
    const head = trainingState(status({ training: true, training_progress: { type: 'train_head', progress: 0.5, message: '', eta_seconds: 30 } }), 11);
    expect(head).toMatchObject({ text: 'training…', tone: 'accent' });
    expect(head?.title).toContain('about 30 s left');
    expect(trainingState(status({ training: true, training_progress: { type: 'finetune', progress: 0.42, message: 'epoch 1/3', eta_seconds: null } }), 11)?.text).toBe('fine-tuning… 42%');
    expect(trainingState(status({ training: true, training_progress: { type: 'embed', progress: 0.2, message: '', eta_seconds: null } }), 11)?.text).toBe('processing new items…');
  });

  it('tells a version newer than the one the page started with', () => {
    expect(trainingState(status({}), 11)).toMatchObject({ text: 'model v11', tone: 'neutral' });
    expect(trainingState(status({ model_version: 12 }), 11)).toMatchObject({ text: 'model v12 ready', tone: 'success' });
    expect(trainingState(status({ model_version: 1 }), null)?.text).toBe('model v1 ready');
    expect(trainingState(status({ model_version: null }), null)?.text).toBe('no model yet');
  });
});
