import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ToastProvider } from '@/components/ui/toast';
import { archiveQuery } from '@/lib/api/queries';
import type { ModelVersion, Project } from '@/lib/api/types';
import { ARCHIVE_CHOICES, ModelTable } from './model-table';

const project = { id: 3, name: 'Reviews', task: 'text_classification', labels: ['neg', 'pos'], role: 'owner' } as unknown as Project;
const model = { version: 2, kind: 'head', status: 'ready', active: true, backbone: 'minilm', base_version: null, label_count: 30, metrics: {}, device: 'cpu', created_at: '2026-12-01T00:00:00Z' } as unknown as ModelVersion;

const wrap = () =>
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <ToastProvider>
        <ModelTable project={project} models={[model]} />
      </ToastProvider>
    </QueryClientProvider>,
  );

describe('model archive formats', () => {
  const fetched: string[] = [];
  beforeEach(() => {
    fetched.length = 0;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => {
        fetched.push(url);
        if (url.includes('quantize=int8'))
          return new Response(JSON.stringify({ detail: 'int8 is not offered for this model: only 8 labeled items to measure it on (at least 10 are needed)' }), {
            status: 409,
            headers: { 'Content-Type': 'application/json' },
          });
        return new Response(new Blob(['PK']), { status: 200, headers: { 'Content-Disposition': 'attachment; filename="m.zip"' } });
      }),
    );
    URL.createObjectURL = vi.fn(() => 'blob:archive');
    URL.revokeObjectURL = vi.fn();
  });
  afterEach(() => vi.unstubAllGlobals());

  it('asks for a format, and for int8 only with ONNX', () => {
    expect(archiveQuery('onnx')).toBe('format=onnx');
    expect(archiveQuery('onnx-int8')).toBe('format=onnx&quantize=int8');
    expect(archiveQuery('all')).toBe('format=all');
    expect(ARCHIVE_CHOICES[0].value).toBe('onnx');
  });

  it('downloads ONNX by default and the chosen format otherwise', async () => {
    wrap();
    const format = screen.getByLabelText('Format of model v2');
    expect(format).toHaveValue('onnx');
    await userEvent.click(screen.getByRole('button', { name: 'Download model v2' }));
    await waitFor(() => expect(fetched).toHaveLength(1));
    expect(fetched[0]).toMatch(/\/api\/v1\/projects\/3\/models\/2\/download\?format=onnx$/);
    await waitFor(() => expect(screen.getByRole('button', { name: 'Download model v2' })).toBeEnabled());
    await userEvent.selectOptions(format, 'torchscript');
    await userEvent.click(screen.getByRole('button', { name: 'Download model v2' }));
    await waitFor(() => expect(fetched).toHaveLength(2));
    expect(fetched[1]).toMatch(/download\?format=torchscript$/);
  });

  it('tells why int8 is refused', async () => {
    wrap();
    await userEvent.selectOptions(screen.getByLabelText('Format of model v2'), 'onnx-int8');
    await userEvent.click(screen.getByRole('button', { name: 'Download model v2' }));
    expect(await screen.findByText(/ONNX int8.*only 8 labeled items/)).toBeInTheDocument();
  });
});
