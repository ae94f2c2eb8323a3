import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Project } from '@/lib/api/types';
import { exportFileName, exportQuery } from '@/lib/api/queries';
import { ExportCard } from './export-card';

const projectOf = (task: string) => ({ id: 3, name: 'P', task, labels: ['a', 'b'], role: 'viewer' }) as unknown as Project;

describe('exportQuery', () => {
  it('keeps the csv/jsonl queries as they were', () => {
    expect(exportQuery('csv', 'labels')).toBe('format=csv');
    expect(exportQuery('jsonl', 'items', true)).toBe('format=jsonl&content=items&annotators=true');
    expect(exportQuery('csv', 'predictions', true)).toBe('format=csv&content=predictions');
  });

  it('asks the dataset formats for the items, with annotators and unlabeled items', () => {
    expect(exportQuery('parquet', 'labels')).toBe('format=parquet&content=items');
    expect(exportQuery('parquet', 'items', { annotators: true, unlabeled: true })).toBe('format=parquet&content=items&annotators=true&unlabeled=true');
    expect(exportQuery('imagefolder', 'items', { unlabeled: true })).toBe('format=imagefolder&content=items&unlabeled=true');
    expect(exportFileName({ name: 'P' }, 'imagefolder', 'items')).toBe('P-dataset.zip');
    expect(exportFileName({ name: 'P' }, 'parquet', 'items')).toBe('P-dataset.parquet');
  });
});

describe('ExportCard', () => {
  let paths: string[];
  beforeEach(() => {
    paths = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: string | Request) => {
        const url = new URL(typeof input === 'string' ? input : input.url, 'http://localhost');
        paths.push(`${url.pathname}${url.search}`);
        return new Response(new Blob(['x']), { status: 200, headers: { 'Content-Disposition': 'attachment; filename="p.parquet"' } });
      }),
    );
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: () => 'blob:x', revokeObjectURL: () => undefined }));
  });
  afterEach(() => vi.unstubAllGlobals());

  const renderCard = (task: string) =>
    render(
      <QueryClientProvider client={new QueryClient()}>
        <ExportCard project={projectOf(task)} />
      </QueryClientProvider>,
    );

  it('offers image folders for image projects only', () => {
    renderCard('text_classification');
    expect(screen.getByRole('button', { name: 'Hugging Face Parquet' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Image folders (zip)' })).toBeNull();
  });

  it('downloads a Parquet dataset and an image-folder zip with the options ticked', async () => {
    renderCard('image_classification');
    fireEvent.click(screen.getByLabelText(/With unlabeled items/));
    fireEvent.click(screen.getByRole('button', { name: 'Hugging Face Parquet' }));
    await waitFor(() => expect(paths).toEqual(['/api/v1/projects/3/export?format=parquet&content=items&unlabeled=true']));
    fireEvent.click(screen.getByLabelText(/With every annotator/));
    fireEvent.click(screen.getByRole('button', { name: 'Image folders (zip)' }));
    await waitFor(() => expect(paths[1]).toBe('/api/v1/projects/3/export?format=imagefolder&content=items&unlabeled=true'));
  });
});
