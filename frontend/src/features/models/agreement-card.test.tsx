import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Agreement, AgreementEstimate } from '@/lib/api/types';
import { AgreementView, describeEstimate } from './agreement-card';

const est = (value: number | null, items: number, extra: Partial<AgreementEstimate> = {}): AgreementEstimate => ({
  value,
  low: value == null ? null : value - 0.1,
  high: value == null ? null : value + 0.1,
  items,
  pairs: items,
  reason: null,
  ...extra,
});

const measures = (alpha: number | null, items: number) => ({
  percent_agreement: est(alpha == null ? null : 0.7, items),
  fleiss_kappa: est(alpha, items),
  krippendorff_alpha: est(alpha, items),
});

const base: Agreement = {
  computed: true,
  computed_at: '2026-03-02T10:00:00',
  model_version: 3,
  annotations_per_item: 2,
  overlap_share: 0,
  items: 40,
  annotations: 80,
  annotators: 2,
  min_support: 30,
  level: 0.95,
  interval: 'percentile bootstrap over items',
  resamples: 1000,
  overall: measures(0.41, 40),
  cohen_kappa: est(0.4, 40),
  per_label: [
    { label: 'negative', ...measures(0.41, 40) },
    { label: 'positive', ...measures(0.41, 40) },
  ],
  pairs: [{ a: 1, a_name: 'ann', b: 2, b_name: 'bob', percent_agreement: est(0.7, 40), cohen_kappa: est(0.4, 40) }],
  per_annotator: [
    { user_id: 1, name: 'ann', items: 40, vs_consensus: { percent_agreement: est(0.7, 40), cohen_kappa: est(0.4, 40) }, vs_model: { percent_agreement: est(0.9, 40), cohen_kappa: est(0.8, 38) } },
    { user_id: 2, name: 'bob', items: 40, vs_consensus: { percent_agreement: est(0.7, 40), cohen_kappa: est(0.4, 40) }, vs_model: null },
  ],
  history: [
    { computed_at: '2026-03-01T10:00:00', items: 30, annotations: 60, model_version: 2, percent_agreement: est(0.6, 30), fleiss_kappa: est(0.3, 30), krippendorff_alpha: est(0.3, 30), cohen_kappa: est(0.3, 30) },
    { computed_at: '2026-03-02T10:00:00', items: 40, annotations: 80, model_version: 3, percent_agreement: est(0.7, 40), fleiss_kappa: est(0.41, 40), krippendorff_alpha: est(0.41, 40), cohen_kappa: est(0.4, 40) },
  ],
  message: null,
};

describe('AgreementView', () => {
  it('shows each figure with its interval and support, and the trend over time', () => {
    render(<AgreementView agreement={base} />);
    expect(screen.getByTestId('agreement-alpha')).toHaveTextContent("Krippendorff's α0.4195 % interval 0.31 to 0.51; on 40 items");
    expect(screen.getByTestId('agreement-cohen')).toHaveTextContent("Cohen's κ0.40");
    expect(screen.getByTestId('agreement-percent')).toHaveTextContent('70.0%');
    expect(screen.getByRole('img', { name: "Krippendorff's α over time" })).toBeInTheDocument();
    expect(screen.getByTestId('trend-path').getAttribute('d')?.match(/[ML]/g)).toHaveLength(2);
    expect(screen.getByTestId('trend-band')).toBeInTheDocument();
    const annotators = screen.getByTestId('agreement-annotators');
    expect(annotators).toHaveTextContent('ann0.40 (40)0.80 (38)');
    expect(annotators).toHaveTextContent('bob0.40 (40)—');
  });

  it('falls back to Fleiss’ κ when more than two annotators share the items', () => {
    const reason = "Cohen's kappa compares two annotators; these items have 3 (see the pairs)";
    render(<AgreementView agreement={{ ...base, annotators: 3, cohen_kappa: est(null, 40, { reason, pairs: 0 }) }} />);
    expect(screen.queryByTestId('agreement-cohen')).toBeNull();
    expect(screen.getByTestId('agreement-fleiss')).toHaveTextContent("Fleiss' κ0.41");
  });

  it('shows counts only below the minimum support', () => {
    const few = { ...base, items: 12, annotations: 24, overall: measures(null, 12), cohen_kappa: est(null, 12), history: [] };
    render(<AgreementView agreement={few} />);
    const counts = screen.getByTestId('agreement-counts');
    expect(counts).toHaveTextContent('12 of 30');
    expect(counts).toHaveTextContent('the figures and their intervals appear at 30 items');
    expect(screen.queryByTestId('agreement-figures')).toBeNull();
  });

  it('says what to do when nothing overlaps yet', () => {
    render(<AgreementView agreement={{ ...base, computed: false, items: 0, overall: null, annotations_per_item: 1 }} />);
    expect(screen.getByTestId('agreement-empty')).toHaveTextContent('Set an overlap share');
  });

  it('gives the reason where a figure is undefined, never NaN', () => {
    const reason = 'every annotation has the same label: chance agreement is 1, so this is undefined';
    expect(describeEstimate(est(null, 40, { reason }), 'coefficient')).toEqual({ value: '—', sub: reason });
    expect(describeEstimate(est(0.5, 10, { low: null, high: null, pairs: 15 }), 'share')).toEqual({ value: '50.0%', sub: 'on 10 items, 15 pairs' });
  });
});
