import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Project } from '@/lib/api/types';
import { ProjectCard } from './project-list';

const project = { id: 3, name: 'P', task: 'text_classification', labels: ['a', 'b', 'c'], role: 'owner', labeled: 3, items_total: 300 } as unknown as Project;
const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
const status = (labels: number, metrics: object) => ({ items_total: 300, items_ready: 300, labeled: labels, unlabeled: 300 - labels, suggested: 0, training: false, model_version: 1, labels_in_model: labels, metrics, annotators: [] });

const renderCard = (body: object) => {
  vi.stubGlobal('fetch', vi.fn(async () => json(body)));
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <ProjectCard project={project} />
    </QueryClientProvider>,
  );
};

describe('ProjectCard', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('shows counts, not "Accuracy 33.3%", after 3 labels', async () => {
    renderCard(status(3, { accuracy: 0.333, cv_folds: 3 }));
    expect(await screen.findByText('Accuracy: 3 of 30 labels')).toBeInTheDocument();
    expect(screen.getByTestId('card-metric')).not.toHaveTextContent('%');
  });

  it('shows the figure once it rests on enough labels', async () => {
    renderCard(status(120, { accuracy: 0.8125, cv_folds: 5 }));
    expect(await screen.findByText('81.3%')).toBeInTheDocument();
  });

  it("follows the version's own evidence: the trusted block's figure and minimum", async () => {
    const metrics = { accuracy: 0.72, cross_validated: { support: 40, min_support: 50, label_counts: [20, 20] }, audit: { support: 4, min_support: 50, label_counts: [2, 2] }, judgement: { metric: 'accuracy', trust: 'cross_validated' } };
    renderCard(status(40, metrics));
    expect(await screen.findByText('Accuracy: 40 of 50 labels')).toBeInTheDocument();
  });
});
