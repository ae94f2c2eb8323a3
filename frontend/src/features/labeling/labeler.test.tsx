import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Project } from '@/lib/api/types';
import { Labeler } from './labeler';
import { ToastProvider } from '@/components/ui/toast';

const project = {
  id: 7,
  name: 'Reviews',
  task: 'text_classification',
  labels: ['negative', 'positive'],
  backbone: 'minilm',
  strategy: 'entropy',
  suggestion_precision: 0.97,
  annotations_per_item: 1,
  lease_seconds: 600,
  created_at: '2025-01-01T00:00:00',
  role: 'owner',
  items_total: 100,
  labeled: 0,
} as Project;

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('Labeler', () => {
  let calls: { method: string; url: string; body?: string }[];
  let nextId: number;
  let activeVersion: number;
  let emptyReason: string | null;
  let labeledOnServer: number;
  let training: boolean;

  beforeEach(() => {
    calls = [];
    nextId = 1;
    activeVersion = 1;
    emptyReason = null;
    labeledOnServer = 0;
    training = false;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: Request | string, init?: RequestInit) => {
        const request = input instanceof Request ? input : new Request(input, init);
        const url = new URL(request.url);
        calls.push({ method: request.method, url: url.pathname + url.search, body: request.method === 'POST' ? await request.text() : undefined });
        if (url.pathname.endsWith('/queue')) {
          if (emptyReason) return json({ data: [], strategy: 'entropy', cold_start: false, reason: emptyReason });
          const limit = Number(url.searchParams.get('limit'));
          const data = Array.from({ length: Math.min(limit, 5) }, () => {
            const id = nextId++;
            return { id, name: `row-${id}`, kind: 'text', text: `Sentence number ${id}`, prediction: { labels: ['positive'], scores: { negative: 0.2, positive: 0.8 }, model_version: 1 }, uncertainty: 0.5 };
          });
          return json({ data, strategy: 'entropy', cold_start: false });
        }
        if (url.pathname.endsWith('/skip')) return new Response(null, { status: 204 });
        if (url.pathname.endsWith('/guidelines')) return json({ instructions: '', labels: [], updated_at: null });
        if (url.pathname.endsWith('/annotations')) {
          labeledOnServer += request.method === 'POST' ? 1 : -1;
          return request.method === 'POST' ? json({ id: 1 }, 201) : new Response(null, { status: 204 });
        }
        if (url.pathname.endsWith('/status')) {
          const progress = training ? { type: 'train_head', progress: 0.3, message: 'training', eta_seconds: 2 } : null;
          return json({ items_total: 100, items_ready: 100, labeled: labeledOnServer, unlabeled: 100 - labeledOnServer, suggested: 0, training, training_progress: progress, model_version: activeVersion, labels_in_model: 0, metrics: null, annotators: [] });
        }
        const itemMatch = /\/items\/(\d+)$/.exec(url.pathname);
        if (itemMatch) {
          const id = Number(itemMatch[1]);
          return json({ id, name: `row-${id}`, kind: 'text', text: `Sentence number ${id}`, prediction: { labels: ['negative'], scores: { negative: 0.9, positive: 0.1 }, model_version: activeVersion }, uncertainty: 0.2, annotations: [] });
        }
        return json({ detail: 'Not found' }, 404);
      }),
    );
  });

  afterEach(() => vi.unstubAllGlobals());

  function renderLabeler() {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    return render(
      <QueryClientProvider client={client}>
        <ToastProvider>
          <Labeler project={project} />
        </ToastProvider>
      </QueryClientProvider>,
    );
  }

  it('shows the next item at once on a key press and saves the label in the background', async () => {
    renderLabeler();
    expect(await screen.findByText('Sentence number 1')).toBeInTheDocument();
    act(() => {
      fireEvent.keyDown(window, { key: '1' });
    });
    // no await between the key and the next item: it was already held locally
    expect(screen.getByText('Sentence number 2')).toBeInTheDocument();
    expect(screen.getByTestId('session-count')).toHaveTextContent('1 labeled');
    await vi.waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.url === '/api/v1/projects/7/items/1/annotations')).toBe(true));
    expect(calls.find((c) => c.method === 'POST')?.body).toBe('{"labels":["negative"]}');
  });

  it('Enter accepts the prediction; going back undoes the label', async () => {
    renderLabeler();
    await screen.findByText('Sentence number 1');
    act(() => {
      fireEvent.keyDown(window, { key: 'Enter' });
    });
    expect(screen.getByText('Sentence number 2')).toBeInTheDocument();
    act(() => {
      fireEvent.keyDown(window, { key: 'ArrowLeft' });
    });
    expect(screen.getByText('Sentence number 1')).toBeInTheDocument();
    expect(screen.getByText('You chose: positive')).toBeInTheDocument();
    await vi.waitFor(() => expect(calls.some((c) => c.method === 'DELETE' && c.url === '/api/v1/projects/7/items/1/annotations')).toBe(true));
  });

  it("says why there is nothing to label, in the server's words", async () => {
    emptyReason = 'The remaining items are leased to other annotators; try again later.';
    renderLabeler();
    expect(await screen.findByText('Nothing to label right now')).toBeInTheDocument();
    expect(screen.getByText(/leased to other annotators; try again later\. This page checks again/)).toBeInTheDocument();
  });

  it('fetches the next batch in the background when three items remain', async () => {
    renderLabeler();
    await screen.findByText('Sentence number 1');
    const queueCalls = () => calls.filter((c) => c.method === 'GET' && c.url.includes('/queue')).length;
    expect(queueCalls()).toBe(1);
    act(() => {
      fireEvent.keyDown(window, { key: 's' });
    });
    expect(queueCalls()).toBe(1); // 4 left
    act(() => {
      fireEvent.keyDown(window, { key: 's' });
    });
    await vi.waitFor(() => expect(queueCalls()).toBe(2)); // 3 left
    expect(screen.getByText('Sentence number 3')).toBeInTheDocument();
    expect(decodeURIComponent(calls.filter((c) => c.method === 'GET' && c.url.includes('/queue'))[1].url)).toContain('exclude=1,2,3,4,5');
    // each skip tells the server, which releases the hold for someone else
    await vi.waitFor(() =>
      expect(calls.filter((c) => c.method === 'POST' && c.url.endsWith('/skip')).map((c) => c.url)).toEqual(['/api/v1/projects/7/queue/1/skip', '/api/v1/projects/7/queue/2/skip']),
    );
  });

  it('refreshes the predictions of held items when a newer model is active, not the current one', async () => {
    activeVersion = 2; // the status says v2 while the queue answered with v1 predictions
    renderLabeler();
    await screen.findByText('Sentence number 1');
    const itemGets = () => calls.filter((c) => c.method === 'GET' && /\/items\/\d+$/.test(c.url)).map((c) => c.url);
    await vi.waitFor(() => expect(itemGets()).toHaveLength(4));
    expect(itemGets()).not.toContain('/api/v1/projects/7/items/1');
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    const predicted = () => document.querySelector('.label-btn-predicted .label-btn-text')?.textContent;
    // item 1 keeps its v1 prediction (positive); item 2 shows the v2 one (negative)
    expect(predicted()).toBe('positive');
    act(() => {
      fireEvent.keyDown(window, { key: 's' });
    });
    expect(screen.getByText('Sentence number 2')).toBeInTheDocument();
    expect(predicted()).toBe('negative');
  });

  it("keeps the project's counter up with each saved label, at most one status request a second", async () => {
    renderLabeler();
    await screen.findByText('Sentence number 1');
    expect(screen.getByTestId('project-count')).toHaveTextContent('0 / 100 in project');
    const statusGets = () => calls.filter((c) => c.url.endsWith('/status')).length;
    const before = statusGets();
    act(() => {
      fireEvent.keyDown(window, { key: '1' });
    });
    // at once, not after a pause in the labeling (the old debounce waited 1.5 s after the last key)
    await vi.waitFor(() => expect(screen.getByTestId('project-count')).toHaveTextContent('1 / 100 in project'), { timeout: 900 });
    for (const key of ['2', '1']) {
      act(() => {
        fireEvent.keyDown(window, { key });
      });
    }
    // the two labels within the second share one trailing request
    await vi.waitFor(() => expect(screen.getByTestId('project-count')).toHaveTextContent('3 / 100 in project'), { timeout: 3000 });
    expect(statusGets() - before).toBeLessThanOrEqual(2);
    expect(screen.getByTestId('session-count')).toHaveTextContent('3 labeled');
  });

  it('says "training…" while a head trains and "model v2 ready" when the new version lands', async () => {
    training = true;
    renderLabeler();
    await screen.findByText('Sentence number 1');
    await vi.waitFor(() => expect(screen.getByTestId('training-badge')).toHaveTextContent('training…'));
    training = false;
    activeVersion = 2;
    act(() => {
      fireEvent.keyDown(window, { key: '1' }); // a saved label refreshes the status
    });
    await vi.waitFor(() => expect(screen.getByTestId('training-badge')).toHaveTextContent('model v2 ready'));
    expect(screen.getByTestId('training-badge')).toHaveAttribute('data-tone', 'success');
  });
});
