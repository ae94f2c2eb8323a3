import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Project, Role } from '@/lib/api/types';
import { ItemDrawer } from './item-drawer';
import { ToastProvider } from '@/components/ui/toast';

const projectAs = (role: Role) => ({ id: 3, name: 'Reviews', task: 'text_classification', labels: ['negative', 'positive'], role, strategy: 'margin' }) as unknown as Project;
const LONG = `https://example.com/${'a'.repeat(400)}`;
const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
const twin = (id: number) => ({ id, name: `twin-${id}`, kind: 'text', text: `Twin text ${id}`, status: 'unlabeled', labels: null });

describe('ItemDrawer', () => {
  let posts: { url: string; body: string }[];
  beforeEach(() => {
    posts = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: Request) => {
        const url = new URL(input.url);
        if (input.method === 'POST') {
          posts.push({ url: url.pathname, body: await input.text() });
          return json({ labeled: [11], skipped: [12] });
        }
        if (url.pathname.endsWith('/duplicates')) return json({ item_id: 10, threshold: 0.98, data: [twin(11), twin(12)] });
        if (url.pathname.endsWith('/similar')) return json({ data: [{ item: twin(30), similarity: 0.91 }], embedded: 40 });
        return json({ id: 10, name: LONG, kind: 'text', text: LONG, status: 'labeled', labels: ['positive'], likely_error: true, label_error_score: 0.81, duplicates: 2, annotations: [{ id: 1, item_id: 10, user_id: 1, user_name: 'ann', labels: ['positive'], source: 'duplicate', created_at: '2026-12-01T00:00:00Z' }] });
      }),
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  const open = (role: Role, nav: Partial<Parameters<typeof ItemDrawer>[0]> = {}) =>
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <ToastProvider>
          <input aria-label="search box" />
          <ItemDrawer project={projectAs(role)} itemId={10} onClose={vi.fn()} onOpen={vi.fn()} {...nav} />
        </ToastProvider>
      </QueryClientProvider>,
    );

  it('moves with J / K and the arrows, but not while typing in a field', async () => {
    const onNext = vi.fn();
    const onPrevious = vi.fn();
    open('owner', { onNext, onPrevious, position: '4 of 9' });
    await screen.findByTestId('near-duplicates');
    expect(screen.getByText('4 of 9')).toBeInTheDocument();
    fireEvent.keyDown(window, { key: 'J' });
    fireEvent.keyDown(window, { key: 'ArrowDown' });
    fireEvent.keyDown(window, { key: 'k' });
    expect(onNext).toHaveBeenCalledTimes(2);
    expect(onPrevious).toHaveBeenCalledTimes(1);
    fireEvent.keyDown(screen.getByLabelText('search box'), { key: 'j' });
    fireEvent.keyDown(window, { key: 'j', ctrlKey: true });
    expect(onNext).toHaveBeenCalledTimes(2);
  });

  it('wraps a long name and text instead of overflowing', async () => {
    open('owner');
    const drawer = await screen.findByRole('dialog');
    await screen.findByTestId('near-duplicates');
    expect(within(drawer).getAllByText(LONG)[0]).toHaveClass('drawer-title');
  });

  it('shows near-duplicates and gives them the label in one call; more like this opens a neighbour', async () => {
    const onOpen = vi.fn();
    open('annotator', { onOpen });
    expect(await screen.findByText('Twin text 11')).toBeInTheDocument();
    expect(screen.getByTestId('likely-error')).toHaveTextContent('score 0.81');
    fireEvent.click(screen.getByRole('button', { name: 'Give them “positive”' }));
    await waitFor(() => expect(posts).toHaveLength(1));
    expect(posts[0]).toEqual({ url: '/api/v1/projects/3/items/10/duplicates/label', body: '{"labels":["positive"]}' });
    expect(await screen.findByText(/1 near-duplicate labeled positive; 1 left/)).toBeInTheDocument();
    fireEvent.click(await screen.findByText('Twin text 30'));
    expect(onOpen).toHaveBeenCalledWith(30);
  });

  it('offers no labeling to a viewer', async () => {
    open('viewer');
    await screen.findByText('Twin text 11');
    expect(screen.queryByRole('button', { name: /Give them/ })).toBeNull();
  });
});
