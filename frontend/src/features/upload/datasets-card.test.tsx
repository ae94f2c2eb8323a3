import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Project } from '@/lib/api/types';
import { DatasetsCard } from './datasets-card';
import { ToastProvider } from '@/components/ui/toast';

const project = { id: 3, name: 'P', task: 'image_classification', labels: ['a'], role: 'owner' } as unknown as Project;
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('DatasetsCard', () => {
  let calls: string[];
  beforeEach(() => {
    calls = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: Request) => {
        const url = new URL(input.url);
        calls.push(`${input.method} ${url.pathname}${url.search}`);
        if (input.method === 'DELETE') return new Response(null, { status: 204 });
        if (input.method === 'PATCH') return json({ id: 2, name: 'renamed', items: 12 });
        return json({ data: [{ id: 1, name: 'default', items: 40 }, { id: 2, name: 'zips', items: 12 }], count: 2 });
      }),
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  const renderCard = () =>
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <ToastProvider>
          <DatasetsCard project={project} />
        </ToastProvider>
      </QueryClientProvider>,
    );

  it('asks before deleting, naming how many items go', async () => {
    renderCard();
    fireEvent.click(await screen.findByRole('button', { name: 'Delete zips' }));
    const dialog = screen.getByRole('alertdialog');
    expect(dialog).toHaveTextContent('This deletes 12 items and their labels');
    fireEvent.click(screen.getByRole('button', { name: 'Delete 12 items' }));
    await vi.waitFor(() => expect(calls).toContain('DELETE /api/v1/projects/3/datasets/2?confirm=true'));
  });

  it('renames inline', async () => {
    renderCard();
    fireEvent.click(await screen.findByRole('button', { name: 'Rename zips' }));
    fireEvent.change(screen.getByLabelText('New name for zips'), { target: { value: 'renamed' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await vi.waitFor(() => expect(calls).toContain('PATCH /api/v1/projects/3/datasets/2'));
  });
});
