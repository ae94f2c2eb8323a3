import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Item, Project } from '@/lib/api/types';
import { EMPTY } from './item-filters';
import { ItemsBrowser, ItemsTable } from './items-browser';
import { ToastProvider } from '@/components/ui/toast';

const navigation = vi.hoisted(() => ({ search: 'project=3', replace: vi.fn() }));
vi.mock('next/navigation', () => ({
  useSearchParams: () => new URLSearchParams(navigation.search),
  useRouter: () => ({ replace: navigation.replace, push: vi.fn() }),
  usePathname: () => '/items/',
}));

const project = { id: 3, name: 'Reviews', task: 'text_classification', labels: ['negative', 'positive'], role: 'owner', strategy: 'margin', items_total: 3, labeled: 2 } as unknown as Project;

const row = (id: number, extra: Partial<Item> = {}): Item => ({
  id,
  name: `r${id}`,
  kind: 'text',
  text: `Sentence ${id}`,
  status: 'labeled',
  labels: ['positive'],
  prediction: { labels: ['negative'], scores: { negative: 0.8, positive: 0.2 }, model_version: 2 },
  uncertainty: 0.4,
  confidence: 0.8,
  label_error_score: 0.8,
  likely_error: true,
  annotators: ['ann', 'bob'],
  source: 'human',
  duplicates: 2,
  conflict: false,
  ...extra,
});

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });

describe('ItemsTable', () => {
  it('shows the quality columns and sorts by a header, most first', () => {
    const onSort = vi.fn();
    render(<ItemsTable project={project} rows={[row(1), row(2, { likely_error: false, duplicates: 0, source: 'duplicate', annotators: ['cy'] })]} filters={{ ...EMPTY, sort: '-uncertainty' }} onSort={onSort} onOpen={vi.fn()} />);
    const [first, second] = screen.getAllByRole('row').slice(1);
    expect(within(first).getByText('ann, bob')).toBeInTheDocument();
    expect(within(first).getByText('likely error')).toBeInTheDocument();
    expect(within(first).getByText('2 near-duplicates')).toBeInTheDocument();
    expect(within(second).getByText('duplicate')).toBeInTheDocument();
    expect(within(second).queryByText('likely error')).toBeNull();
    const uncertainty = screen.getByRole('columnheader', { name: /Uncertainty/ });
    expect(uncertainty).toHaveAttribute('aria-sort', 'descending');
    fireEvent.click(within(uncertainty).getByRole('button'));
    expect(onSort).toHaveBeenCalledWith('uncertainty');
    fireEvent.click(within(screen.getByRole('columnheader', { name: /Label error/ })).getByRole('button'));
    expect(onSort).toHaveBeenLastCalledWith('-label_error');
  });
});

describe('ItemsBrowser', () => {
  let requests: string[];
  beforeEach(() => {
    requests = [];
    navigation.replace.mockReset();
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: Request) => {
        const url = new URL(input.url);
        requests.push(url.pathname + url.search);
        if (url.pathname.endsWith('/label-issues'))
          return json({
            data: [{ item: row(5), given: ['positive'], model_thinks: ['negative'], disputed: ['positive', 'negative'], probability: 0.9, given_probability: 0.1, score: 0.9, annotators: 1, votes: [{ labels: ['positive'], count: 1, annotators: ['ann'] }] }],
            count: 1,
            checked: 2,
            model_version: 2,
            method: 'confident learning',
          });
        if (url.pathname.endsWith('/items')) return json({ data: [row(1), row(2)], count: 2 });
        if (url.pathname.endsWith('/status')) return json({ items_total: 3, items_ready: 3, labeled: 2, unlabeled: 1, suggested: 0, training: false, model_version: 2, labels_in_model: 2, metrics: null, annotators: [] });
        if (url.pathname.endsWith('/members') || url.pathname.endsWith('/datasets')) return json({ data: [], count: 0 });
        return json({ data: [], count: 0 });
      }),
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  const renderBrowser = () =>
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <ToastProvider>
          <ItemsBrowser project={project} />
        </ToastProvider>
      </QueryClientProvider>,
    );

  it('opens the view the URL names and lists likely errors as a review list', async () => {
    navigation.search = 'project=3&view=likely_error';
    renderBrowser();
    expect(await screen.findByText('The model thinks negative (90 %); 1 annotator said positive')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Likely errors' })).toHaveAttribute('aria-pressed', 'true');
    expect(requests.some((r) => r.includes('/label-issues?limit=50&offset=0'))).toBe(true);
    expect(requests.some((r) => r.includes('/items?'))).toBe(false); // the table is not asked for
  });

  it('writes filters into the URL, keeping the project, and asks the server to sort', async () => {
    navigation.search = 'project=3';
    renderBrowser();
    await screen.findByText('Sentence 1');
    fireEvent.click(screen.getByRole('button', { name: 'Near-duplicates' }));
    fireEvent.click(within(screen.getByRole('columnheader', { name: /Confidence/ })).getByRole('button'));
    await waitFor(() => expect(navigation.replace).toHaveBeenCalled());
    const url = new URL(navigation.replace.mock.calls.at(-1)?.[0], 'http://x');
    expect(url.pathname).toBe('/items/');
    expect(Object.fromEntries(url.searchParams)).toEqual({ project: '3', view: 'near_duplicate', sort: '-confidence' });
    await waitFor(() => expect(requests.some((r) => r.includes('sort=-confidence') && r.includes('quality=near_duplicate'))).toBe(true));
  });

  it('steps through the page in the drawer with J and K', async () => {
    navigation.search = 'project=3';
    renderBrowser();
    fireEvent.click(await screen.findByText('Sentence 1'));
    const drawer = await screen.findByRole('dialog');
    expect(within(drawer).getByText('1 of 2')).toBeInTheDocument();
    fireEvent.keyDown(window, { key: 'j' });
    await waitFor(() => expect(within(drawer).getByText('2 of 2')).toBeInTheDocument());
    expect(within(drawer).getByRole('button', { name: 'Next item' })).toBeDisabled();
    fireEvent.keyDown(window, { key: 'ArrowUp' });
    await waitFor(() => expect(within(drawer).getByText('1 of 2')).toBeInTheDocument());
  });
});
