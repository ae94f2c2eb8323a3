import { describe, expect, it } from 'vitest';
import { headline, parseMetrics, percent } from './metrics';

describe('metrics', () => {
  it('reads single-label metrics', () => {
    const m = parseMetrics({ accuracy: 0.8, macro_f1: 0.7, per_class: { a: { precision: 1, recall: 0.5, f1: 0.66, support: 4 } }, confusion_matrix: [[2, 2], [0, 4]], labels: ['a', 'b'], cv_folds: 5 });
    expect(m?.kind).toBe('single');
    expect(headline({ accuracy: 0.8 })).toEqual({ name: 'Accuracy', value: 0.8 });
  });

  it('reads multi-label metrics', () => {
    const m = parseMetrics({ micro_f1: 0.6, macro_f1: 0.5, subset_accuracy: 0.3, per_label: {}, labels: [] });
    expect(m?.kind).toBe('multi');
    expect(headline({ micro_f1: 0.6 })).toEqual({ name: 'Micro F1', value: 0.6 });
  });

  it('names per-label entries keyed by column index', () => {
    const m = parseMetrics({ micro_f1: 0.5, per_label: { '0': { precision: 1, recall: 0.5, f1: 0.6, support: 3 } }, labels: ['person', 'car'] });
    expect(m?.kind === 'multi' && Object.keys(m.perLabel)).toEqual(['person']);
  });

  it('is null without metrics', () => {
    expect(parseMetrics(null)).toBeNull();
    expect(parseMetrics({})).toBeNull();
    expect(percent(null)).toBe('—');
    expect(percent(0.456, 1)).toBe('45.6%');
  });
});

describe('held-out evidence', () => {
  it('formats an interval', async () => {
    const { interval } = await import('./metrics');
    expect(interval({ low: 0.653, high: 0.781 })).toBe('65–78%');
    expect(interval({ low: 0.653, high: 0.781 }, 1)).toBe('65.3–78.1%');
  });
});

describe('evidence line', () => {
  it('names the figure to trust with its support, or only counts', async () => {
    const { evidenceLine, parseEvidence } = await import('./metrics');
    const est = { value: 0.8, low: 0.7, high: 0.9, method: 'wilson' };
    const base = { cross_validated: { support: 200, min_support: 30, accuracy: { ...est, value: 0.6 } }, judgement: { metric: 'accuracy' } };
    expect(evidenceLine(parseEvidence({ ...base, audit: { support: 40, min_support: 30, accuracy: est } })!)).toBe('Accuracy 80.0% (95 % interval 70–90%), audited on 40 random items');
    expect(evidenceLine(parseEvidence({ ...base, audit: { support: 4, min_support: 30 } })!)).toMatch(/^Accuracy 60.0% cross-validated on 200 queue-chosen labels.*4 of 30 audit labels so far$/);
    expect(evidenceLine(parseEvidence({ cross_validated: { support: 3, min_support: 30 }, audit: { support: 0, min_support: 30 } })!)).toBe('Too few labels for a figure: 0 of 30 audit labels so far');
    const pool = { value: 0.85, low: 0.8, high: 0.9, method: 'prediction-powered', audit_labels: 40, queue_labels: 300, pool_items: 2000 };
    expect(evidenceLine(parseEvidence({ ...base, audit: { support: 40, min_support: 30, accuracy: est, pool_accuracy: pool } })!)).toBe(
      "Accuracy 85.0% over the pool (95 % interval 80–90%), from 40 random audit items and the model's confidence",
    );
  });
});
