import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Project } from '@/lib/api/types';
import { SuggestionsReview, toDecision, wrongSentence } from './suggestions-review';
import { ToastProvider } from '@/components/ui/toast';

const project = { id: 3, name: 'Reviews', task: 'text_classification', labels: ['negative', 'positive'], role: 'owner' } as unknown as Project;
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const page = {
  data: [1, 2, 3].map((id) => ({ id, name: `r${id}`, kind: 'text', text: `Lovely thing ${id}`, label: 'positive', labels: ['positive'], confidence: 0.99 })),
  target_precision: 0.97,
  calibrated_precision: 0.995,
  threshold: 0.97,
  qualifying: 60,
  model_version: 4,
  precision_lower_bound: 0.972,
  confidence_level: 0.95,
  calibration_items: 420,
  calibration_support: 180,
  min_labels: 50,
  expected_wrong: 0.08,
};

describe('suggestions', () => {
  it('sends nothing for a card nobody selected', () => {
    expect(toDecision({ id: 1 }, undefined)).toBeNull();
    expect(toDecision({ id: 1 }, { kind: 'accept' })).toEqual({ item_id: 1, accept: true });
    expect(toDecision({ id: 1 }, { kind: 'correct', labels: ['negative'] })).toEqual({ item_id: 1, accept: false, labels: ['negative'] });
  });

  it('says how many of the page may be wrong', () => {
    expect(wrongSentence(1.8, 60)).toMatch(/^About 2 of these 60 are wrong/);
    expect(wrongSentence(0.7, 10)).toMatch(/^About 1 of these 10 is wrong/);
    expect(wrongSentence(0.2, 10)).toMatch(/^Fewer than 1 of these 10/);
    expect(wrongSentence(null, 10)).toBeNull();
  });

  describe('review page', () => {
    let posted: unknown[];
    let served: unknown;
    beforeEach(() => {
      posted = [];
      served = page;
      vi.stubGlobal(
        'fetch',
        vi.fn(async (input: Request | string, init?: RequestInit) => {
          const request = input instanceof Request ? input : new Request(input, init);
          const url = new URL(request.url);
          if (url.pathname.endsWith('/suggestions/review')) {
            const body = JSON.parse(await request.text());
            posted.push(body);
            return json({ accepted: body.items.filter((i: { accept: boolean }) => i.accept).length, corrected: 0, rejected: 0 });
          }
          if (url.pathname.endsWith('/suggestions')) return json(served);
          return json({ detail: 'Not found' }, 404);
        }),
      );
    });
    afterEach(() => vi.unstubAllGlobals());

    it('starts with every card unselected, shows the promise, and submits only what was selected', async () => {
      const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
      render(
        <QueryClientProvider client={client}>
          <ToastProvider>
            <SuggestionsReview project={project} />
          </ToastProvider>
        </QueryClientProvider>,
      );
      const cards = await screen.findAllByTestId('suggestion');
      expect(cards.map((c) => c.getAttribute('data-state'))).toEqual(['none', 'none', 'none']);
      expect(screen.getByText('≥ 97.2%')).toBeInTheDocument();
      expect(screen.getByText(/180 of 420 held-out human labels pass the threshold/)).toBeInTheDocument();
      expect(screen.getByTestId('expected-wrong')).toHaveTextContent('Fewer than 1 of these 3');
      expect(screen.getByRole('button', { name: /Submit selected/ })).toBeDisabled();
      fireEvent.click(cards[1]);
      expect(cards[1].getAttribute('data-state')).toBe('accept');
      fireEvent.click(screen.getByRole('button', { name: /Submit selected/ }));
      expect(await screen.findByText('Saved: 1 accepted, 0 corrected.')).toBeInTheDocument();
      expect(posted).toEqual([{ items: [{ item_id: 2, accept: true }] }]);
    });

    it('says what the labels back when the target is out of reach', async () => {
      const detail = 'No confidence threshold has a 97% precision bound on the 420 human labels yet (the best bound any threshold reaches now is 94.1%)';
      served = { ...page, data: [], qualifying: 0, precision_lower_bound: null, threshold: null, reachable_precision: 0.941, detail };
      const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
      render(
        <QueryClientProvider client={client}>
          <ToastProvider>
            <SuggestionsReview project={project} />
          </ToastProvider>
        </QueryClientProvider>,
      );
      expect(await screen.findByText(/on 420 held-out human labels, which back at most 94.1% now/)).toBeInTheDocument();
      expect(screen.getByText(/best bound any threshold reaches now is 94.1%/)).toBeInTheDocument();
    });
  });
});
