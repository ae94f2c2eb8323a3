import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { parseEvidence } from '@/lib/metrics';
import { ModelQuality } from './model-quality';

const estimate = (value: number, low: number, high: number) => ({ value, low, high, method: 'wilson' });

const metrics = (audit: object, cv: object, judgement: object) => ({
  accuracy: 0.6,
  evaluation: 'cross_validated',
  cross_validated: { support: 200, min_support: 30, label_counts: [90, 110], accuracy: estimate(0.6, 0.53, 0.66), ...cv },
  audit: { support: 12, min_support: 30, label_counts: [5, 7], ...audit },
  judgement: { metric: 'accuracy', trust: 'cross_validated', disagree: false, ...judgement },
});

describe('ModelQuality', () => {
  it('shows only counts below the minimum support, and says the cross-validated figure is rough', () => {
    const evidence = parseEvidence(metrics({}, {}, {}))!;
    render(<ModelQuality evidence={evidence} />);
    const audit = screen.getByTestId('audit-figure');
    expect(audit).toHaveTextContent('12 of 30');
    expect(audit).toHaveTextContent('audit labels so far; the figure and its interval appear at 30 (per label: 5 / 7)');
    expect(audit).not.toHaveTextContent('%');
    expect(screen.getByTestId('cv-figure')).toHaveTextContent('60.0%');
    expect(screen.getByTestId('cv-figure')).toHaveTextContent('95 % interval 53–66%; on 200 labels');
    expect(screen.getByTestId('trust')).toHaveTextContent(/No audited figure yet.*usually understates/);
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('trusts the audited figure and warns when the two disagree beyond their intervals', () => {
    const evidence = parseEvidence(metrics({ support: 40, accuracy: estimate(0.8, 0.65, 0.9) }, {}, { trust: 'audit', disagree: true }))!;
    render(<ModelQuality evidence={evidence} />);
    expect(screen.getByTestId('audit-figure')).toHaveTextContent('80.0%');
    expect(screen.getByTestId('audit-figure')).toHaveTextContent('65–90%; on 40 audit labels');
    expect(screen.getByTestId('trust')).toHaveTextContent('Trust the audited figure');
    expect(screen.getByRole('alert')).toHaveTextContent('disagree beyond their intervals');
  });

  it('shows the pool-wide figure first, with what it rests on, and the audit labels alone beside it', () => {
    const pool = { ...estimate(0.88, 0.83, 0.92), method: 'prediction-powered', audit_labels: 40, queue_labels: 460, pool_items: 2000 };
    const evidence = parseEvidence(metrics({ support: 40, accuracy: estimate(0.85, 0.71, 0.93), pool_accuracy: pool }, {}, { trust: 'audit', figure: 'pool_accuracy' }))!;
    render(<ModelQuality evidence={evidence} />);
    const audit = screen.getByTestId('audit-figure');
    expect(audit).toHaveTextContent('88.0%');
    expect(audit).toHaveTextContent('over all 2,000 items, 95 % interval 83–92%: the 460 queue-chosen labels counted');
    expect(audit).toHaveTextContent("from 40 audit labels with the model's confidence. The audit labels alone: 85.0% (71–93%)");
  });

  it('is absent for versions without held-out evidence', () => {
    expect(parseEvidence({ accuracy: 0.9, validation: 'holdout' })).toBeNull();
    expect(parseEvidence(null)).toBeNull();
    const multi = parseEvidence({
      cross_validated: { support: 50, min_support: 30, micro_f1: estimate(0.5, 0.4, 0.6) },
      audit: { support: 0, min_support: 30 },
      judgement: { metric: 'micro_f1', trust: 'cross_validated', disagree: false },
    });
    expect(multi?.name).toBe('Micro F1');
    expect(multi?.cv.primary?.value).toBe(0.5);
  });
});
