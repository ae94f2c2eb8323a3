import { describe, expect, it } from 'vitest';
import type { Job, ModelVersion, Project } from '@/lib/api/types';
import { finetuneOutcome, whereItRuns } from './finetune-panel';

const project = { id: 1, task: 'text_classification', labels: ['neg', 'pos'] } as unknown as Project;
const job = (patch: Partial<Job>): Job =>
  ({ id: 5, project_id: 1, type: 'finetune', status: 'done', progress: 1, message: '', errors: [], result: {}, device: 'cpu', created_at: '', started_at: null, finished_at: null, ...patch }) as Job;
const active = { version: 3, active: true, status: 'ready', kind: 'head', metrics: { accuracy: 0.88 } } as unknown as ModelVersion;

describe('fine-tuning outcome', () => {
  it('says which version became active, with its metric', () => {
    expect(finetuneOutcome(job({ result: { version: 7, activated: true, metric: 0.91 } }), project, [active])).toEqual({ tone: 'success', text: 'v7 is now active: accuracy 91.0%' });
  });

  it('names the head trained on the new embeddings when it took over', () => {
    const head = { version: 8, active: true, status: 'ready', kind: 'head', base_version: 7, metrics: { accuracy: 0.9 } } as unknown as ModelVersion;
    expect(finetuneOutcome(job({ result: { version: 7, activated: true, metric: 0.91 } }), project, [head])?.text).toBe(
      'v7 is now active: accuracy 91.0%; v8, a head on its embeddings, now serves predictions',
    );
  });

  it('says a worse version was kept, not used, against the active metric', () => {
    expect(finetuneOutcome(job({ result: { version: 7, activated: false, metric: 0.84 } }), project, [active])?.text).toBe(
      'v7 validated 84.0%, not better than the active v3 (88.0%) — kept, not used',
    );
  });

  it('compares with the head baseline on the same held-out items when the active model is a pretrained head', () => {
    const rejected = { version: 7, active: false, status: 'rejected', kind: 'finetuned', base_version: null, metrics: { accuracy: 0.9, head_baseline: 0.95 } } as unknown as ModelVersion;
    expect(finetuneOutcome(job({ result: { version: 7, activated: false, metric: 0.9 } }), project, [active, rejected])?.text).toBe(
      'v7 validated 90.0%, not better than the frozen-backbone head on the same held-out items (95.0%) — kept, not used',
    );
  });

  it('reports failures and cancellations, and nothing while running', () => {
    expect(finetuneOutcome(job({ status: 'failed', message: 'fine-tuning needs at least 4 labeled items (has 2)' }), project, [])?.tone).toBe('error');
    expect(finetuneOutcome(job({ status: 'cancelled' }), project, [])?.text).toMatch(/cancelled/);
    expect(finetuneOutcome(job({ status: 'running', progress: 0.4 }), project, [])).toBeNull();
  });

  it('names where it runs', () => {
    expect(whereItRuns('gpu')).toBe('on a GPU worker');
    expect(whereItRuns('cuda:0')).toBe('on a GPU worker');
    expect(whereItRuns('cpu')).toMatch(/short CPU run/);
    expect(whereItRuns(null)).toBe('');
  });
});
