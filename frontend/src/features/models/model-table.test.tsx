import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { ModelVersion, Project } from '@/lib/api/types';
import { PrecisionRecallBars } from '@/components/charts/precision-recall-bars';
import { ToastProvider } from '@/components/ui/toast';
import { ModelTable, recentVersions } from './model-table';

const project = { id: 3, name: 'P', task: 'text_classification', labels: ['a', 'b'], role: 'owner' } as unknown as Project;

const version = (n: number, extra: Partial<ModelVersion> = {}): ModelVersion => ({
  version: n,
  kind: 'head',
  backbone: 'minilm',
  base_version: null,
  label_count: n * 10,
  metrics: { accuracy: 0.5 + n / 100, cv_folds: 3 },
  status: 'ready',
  active: false,
  device: 'cpu',
  created_at: '2026-12-03T12:00:00',
  ...extra,
});

const renderTable = (models: ModelVersion[]) =>
  render(
    <QueryClientProvider client={new QueryClient()}>
      <ToastProvider>
        <ModelTable project={project} models={models} />
      </ToastProvider>
    </QueryClientProvider>,
  );

const shownVersions = () => screen.getAllByTestId(/^model-row-/).map((row) => Number(row.dataset.testid?.replace('model-row-', '')));

describe('ModelTable', () => {
  it('shows the last 5 versions (and the active one), the rest behind "Show all"', () => {
    const models = Array.from({ length: 12 }, (_, i) => version(i + 1, { active: i === 2 }));
    renderTable(models);
    expect(shownVersions()).toEqual([12, 11, 10, 9, 8, 3]);
    fireEvent.click(screen.getByRole('button', { name: 'Show all 12 versions' }));
    expect(shownVersions()).toHaveLength(12);
    fireEvent.click(screen.getByRole('button', { name: 'Show the last 5' }));
    expect(shownVersions()).toHaveLength(6);
  });

  it('has no "Show all" when every version fits', () => {
    renderTable([version(1), version(2)]);
    expect(screen.queryByRole('button', { name: /Show all/ })).not.toBeInTheDocument();
    expect(recentVersions([version(1), version(2)]).map((m) => m.version)).toEqual([2, 1]);
  });

  it('shows a metric only from enough labels, the count otherwise', () => {
    renderTable([version(1, { label_count: 3, metrics: { accuracy: 0.333 } }), version(9, { label_count: 90 })]);
    const early = screen.getByTestId('model-row-1');
    expect(early).not.toHaveTextContent('33.3%');
    expect(within(early).getByTitle('3 labels; a figure needs 30')).toHaveTextContent('—');
    expect(screen.getByTestId('model-row-9')).toHaveTextContent('59.0%');
  });
});

describe('PrecisionRecallBars', () => {
  it('shows counts for every label and figures only with enough support', () => {
    const perLabel = {
      cat: { precision: 0.8, recall: 0.7, f1: 0.75, support: 24 },
      dog: { precision: 0, recall: 0, f1: 0, support: 2 },
    };
    render(<PrecisionRecallBars perLabel={perLabel} labels={['cat', 'dog']} />);
    const [cat, dog] = screen.getAllByTestId('pr-row');
    expect(cat).toHaveTextContent('80 / 70% · 24 labeled');
    expect(dog).toHaveTextContent('2 labeled');
    expect(dog).toHaveTextContent('too few labels for a figure (needs 10)');
    expect(dog).not.toHaveTextContent('0 / 0%');
  });
});
