import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AnnotatorFigures, AnnotatorsPage, Project } from '@/lib/api/types';
import { AnnotatorsCard, AnnotatorsView } from './annotators-table';

const est = (value: number | null, items: number, reason: string | null = null) => ({ value, low: value == null ? null : value - 0.2, high: value == null ? null : value + 0.1, items, pairs: items, reason });

const row = (extra: Partial<AnnotatorFigures>): AnnotatorFigures => ({
  user_id: 1,
  name: 'ann',
  role: 'annotator',
  labels: 0,
  labels_per_hour: null,
  active_seconds: 0,
  median_seconds: null,
  timed_labels: 0,
  skipped: 0,
  skip_share: null,
  suggestions_accepted: 0,
  suggestions_corrected: 0,
  agreement_items: 0,
  vs_consensus: null,
  vs_model: null,
  ...extra,
});

// the API test's constructed example (tests/api/test_team.py): 3 labels and a skip, 70 s of
// active time, items taking 30, 50 and 10 s
const page: AnnotatorsPage = {
  scope: 'all',
  active_gap_seconds: 600,
  agreement_computed_at: '2026-12-01T10:00:00Z',
  data: [
    row({ user_id: 3, name: 'annotator', labels: 3, labels_per_hour: 3600 / 70, active_seconds: 70, median_seconds: 30, timed_labels: 3, skipped: 1, skip_share: 0.25 }),
    row({
      user_id: 2,
      name: 'reviewer',
      role: 'reviewer',
      labels: 10,
      suggestions_accepted: 1,
      suggestions_corrected: 1,
      agreement_items: 8,
      vs_consensus: { percent_agreement: est(0.875, 8), cohen_kappa: est(0.75, 8) },
      vs_model: { percent_agreement: est(null, 8, '8 items to compare; a figure needs 30'), cohen_kappa: est(null, 8, '8 items to compare; a figure needs 30') },
    }),
    row({ user_id: 9, name: 'gone', role: null, labels: 2, median_seconds: 95 }),
  ],
};

describe('AnnotatorsView', () => {
  it('shows each figure as computed, with supports and reasons', () => {
    render(<AnnotatorsView page={page} />);
    const annotator = within(screen.getByTestId('annotator-3'));
    expect(annotator.getByTestId('per-hour')).toHaveTextContent('51');
    expect(annotator.getByTestId('median')).toHaveTextContent('30 s');
    expect(annotator.getByTestId('median')).toHaveAttribute('title', '3 timed labels');
    expect(annotator.getByTestId('skipped')).toHaveTextContent('1 (25%)');
    const reviewer = within(screen.getByTestId('annotator-2'));
    expect(reviewer.getByTestId('per-hour')).toHaveTextContent('—');
    expect(reviewer.getByTestId('vs-team')).toHaveTextContent('0.75 (8)');
    expect(reviewer.getByTestId('vs-model')).toHaveTextContent('— (8)');
    expect(reviewer.getByTestId('vs-model')).toHaveAttribute('title', '8 items to compare; a figure needs 30');
    expect(reviewer.getByTestId('suggestions')).toHaveTextContent('1 / 1');
    const gone = within(screen.getByTestId('annotator-9'));
    expect(gone.getByText('(former member)')).toBeInTheDocument();
    expect(gone.getByTestId('median')).toHaveTextContent('1.6 min');
    expect(screen.getByText(/gaps over 10 min are pauses/)).toBeInTheDocument();
  });
});

describe('AnnotatorsCard', () => {
  afterEach(() => vi.unstubAllGlobals());

  function renderCard(role: Project['role'], answer: AnnotatorsPage) {
    const fetch = vi.fn(async () => new Response(JSON.stringify(answer), { status: 200, headers: { 'Content-Type': 'application/json' } }));
    vi.stubGlobal('fetch', fetch);
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <AnnotatorsCard project={{ id: 7, role } as Project} />
      </QueryClientProvider>,
    );
    return fetch;
  }

  it('is "your figures" for an annotator and absent for a viewer (who would get 403)', async () => {
    renderCard('annotator', { ...page, scope: 'own', data: [page.data[0]] });
    expect(await screen.findByText('Your labeling figures')).toBeInTheDocument();
    expect(await screen.findByTestId('annotator-3')).toBeInTheDocument();
  });

  it('asks nothing for a viewer', () => {
    const fetch = renderCard('viewer', page);
    expect(screen.queryByText('Annotators')).toBeNull();
    expect(fetch).not.toHaveBeenCalled();
  });

  it('lists everyone for a reviewer', async () => {
    renderCard('reviewer', page);
    expect(await screen.findByText('Annotators')).toBeInTheDocument();
    expect(await screen.findAllByRole('row')).toHaveLength(4);
  });
});
