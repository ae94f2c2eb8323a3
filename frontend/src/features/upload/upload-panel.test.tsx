import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Project } from '@/lib/api/types';
import { ToastProvider } from '@/components/ui/toast';
import { UploadPanel, datasetChoices } from './upload-panel';

const uploads = vi.hoisted(() => ({ calls: [] as { dataset: string | undefined; names: string[] }[], warnings: [] as string[] }));
vi.mock('@/lib/upload', async (original) => {
  const actual = await original<typeof import('@/lib/upload')>();
  return {
    ...actual,
    uploadFiles: (_project: number, files: { file: File }[], dataset: string | undefined) => {
      uploads.calls.push({ dataset, names: files.map(({ file }) => file.name) });
      return { promise: Promise.resolve({ job_id: 9, warnings: uploads.warnings }), abort: () => undefined };
    },
  };
});

const project = { id: 3, name: 'P', task: 'text_classification', labels: ['a', 'b'], role: 'owner', items_total: 6 } as unknown as Project;
const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });

describe('UploadPanel', () => {
  let datasets: { id: number; name: string; items: number }[];
  beforeEach(() => {
    uploads.calls = [];
    uploads.warnings = [];
    datasets = [{ id: 1, name: 'cifar extra', items: 6 }];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: Request) => {
        const url = new URL(input.url);
        if (url.pathname.endsWith('/datasets')) return json({ data: datasets, count: datasets.length });
        if (url.pathname.endsWith('/jobs')) return json({ data: [], count: 0 });
        return json({ items_total: 6, items_ready: 6, labeled: 0, unlabeled: 6, suggested: 0, training: false, model_version: null, labels_in_model: null, metrics: null, annotators: [] });
      }),
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  const renderPanel = () =>
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <ToastProvider>
          <UploadPanel project={project} />
        </ToastProvider>
      </QueryClientProvider>,
    );

  const options = () => Array.from((screen.getByLabelText('Into dataset') as HTMLSelectElement).options).map((o) => o.text);

  it('offers the real datasets after a rename, not an empty "default"', async () => {
    renderPanel();
    await waitFor(() => expect(options()).toEqual(['cifar extra', 'New dataset…']));
    expect(screen.getByLabelText('Into dataset')).toHaveValue('cifar extra');
    fireEvent.change(screen.getByTestId('file-input'), { target: { files: [new File(['text\nhello\n'], 'more.csv', { type: 'text/csv' })] } });
    await waitFor(() => expect(uploads.calls).toEqual([{ dataset: 'cifar extra', names: ['more.csv'] }]));
  });

  it('sends files dropped before the list arrived to the first real dataset', async () => {
    renderPanel();
    fireEvent.change(screen.getByTestId('file-input'), { target: { files: [new File(['text\nhi\n'], 'early.csv', { type: 'text/csv' })] } });
    await waitFor(() => expect(uploads.calls).toEqual([{ dataset: 'cifar extra', names: ['early.csv'] }]));
  });

  it('offers "default" only while the project has no dataset', () => {
    expect(datasetChoices([])).toEqual(['default']);
    expect(datasetChoices(undefined)).toEqual(['default']);
    expect(datasetChoices(['a', 'b'])).toEqual(['a', 'b']);
  });

  it("shows the server's warning for a CSV with only its header", async () => {
    uploads.warnings = ['empty.csv: no rows below the CSV header'];
    renderPanel();
    await waitFor(() => expect(options()).toContain('cifar extra'));
    fireEvent.change(screen.getByTestId('file-input'), { target: { files: [new File(['id,text\n'], 'empty.csv', { type: 'text/csv' })] } });
    expect(await screen.findByTestId('file-warning')).toHaveTextContent('empty.csv: no rows below the CSV header');
  });
});
