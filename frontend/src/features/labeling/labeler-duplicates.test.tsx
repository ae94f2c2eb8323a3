import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Project } from '@/lib/api/types';
import { DUPLICATES_KEY, Labeler } from './labeler';
import { ToastProvider } from '@/components/ui/toast';

const project = { id: 7, name: 'Reviews', task: 'text_classification', labels: ['negative', 'positive'], strategy: 'margin', role: 'annotator', items_total: 100, labeled: 0 } as unknown as Project;
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('Labeler: near-duplicates', () => {
  let calls: { method: string; url: string; body?: string }[];
  beforeEach(() => {
    calls = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: Request) => {
        const url = new URL(input.url);
        calls.push({ method: input.method, url: url.pathname, body: input.method === 'POST' ? await input.text() : undefined });
        if (url.pathname.endsWith('/queue')) {
          // item 1 has two near-duplicates, and one of them (2) is next in this queue
          const data = [1, 2, 3, 4, 5].map((id) => ({ id, name: `row-${id}`, kind: 'text', text: `Sentence number ${id}`, prediction: null, uncertainty: 0.5, duplicates: id <= 2 ? 2 : 0 }));
          return json({ data, strategy: 'margin', cold_start: false });
        }
        if (url.pathname.endsWith('/duplicates/label')) return json({ labeled: [2, 9], skipped: [] });
        if (url.pathname.endsWith('/annotations')) return json({ id: 1 }, 201);
        if (url.pathname.endsWith('/status')) return json({ items_total: 100, items_ready: 100, labeled: 0, unlabeled: 100, suggested: 0, training: false, model_version: null, labels_in_model: null, metrics: null, annotators: [] });
        return json({ detail: 'Not found' }, 404);
      }),
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  const renderLabeler = () =>
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <ToastProvider>
          <Labeler project={project} />
        </ToastProvider>
      </QueryClientProvider>,
    );

  it('offers the label to an item’s near-duplicates with one key and takes them off the queue', async () => {
    renderLabeler();
    await screen.findByText('Sentence number 1');
    act(() => {
      fireEvent.keyDown(window, { key: '2' });
    });
    expect(screen.getByTestId('duplicate-offer')).toHaveTextContent('“row-1” has 2 near-duplicates: press = to give them “positive” too.');
    act(() => {
      fireEvent.keyDown(window, { key: DUPLICATES_KEY });
    });
    await vi.waitFor(() => expect(calls.some((c) => c.url === '/api/v1/projects/7/items/1/duplicates/label')).toBe(true));
    expect(calls.find((c) => c.url.endsWith('/duplicates/label'))?.body).toBe('{"labels":["positive"]}');
    // row-2 got the label: the labeler moves on to row-3
    expect(await screen.findByText('Sentence number 3')).toBeInTheDocument();
    expect(screen.queryByTestId('duplicate-offer')).toBeNull();
    expect(await screen.findByText(/2 near-duplicates of “row-1” labeled positive/)).toBeInTheDocument();
    expect(screen.getByTestId('session-count')).toHaveTextContent('3 labeled');
  });

  it('makes no offer for an item without duplicates, and the key then does nothing', async () => {
    renderLabeler();
    await screen.findByText('Sentence number 1');
    act(() => {
      fireEvent.keyDown(window, { key: 's' }); // skip row-1
    });
    act(() => {
      fireEvent.keyDown(window, { key: 's' }); // skip row-2
    });
    act(() => {
      fireEvent.keyDown(window, { key: '1' }); // label row-3: no duplicates
    });
    expect(screen.queryByTestId('duplicate-offer')).toBeNull();
    act(() => {
      fireEvent.keyDown(window, { key: DUPLICATES_KEY });
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls.some((c) => c.url.endsWith('/duplicates/label'))).toBe(false);
  });
});
