import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CreateProjectForm } from './create-project-form';

const push = vi.fn();
vi.mock('next/navigation', () => ({ useRouter: () => ({ push, back: vi.fn() }) }));

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const strategies = [
  { name: 'margin', description: 'Items whose two most likely labels are closest.', default: true },
  { name: 'entropy', description: 'Items whose predicted distribution is the most spread out.', default: false },
  { name: 'random', description: 'A uniform sample.', default: false },
];

const measured = (per_second: number, probe: [string, number | null, number][]) => ({
  machine: '2-core x86_64 CPU (no GPU), torch 2.14, 2 threads',
  embed_per_second: per_second,
  probe: probe.map(([dataset, labels, accuracy]) => ({ dataset, labels, accuracy })),
  seeds: 3,
});

const textBackbones = [
  { name: 'minilm_l6', modality: 'text', dim: 384, description: 'all-MiniLM-L6-v2', available: true, default: true, detail: null, benchmark: measured(183, [['uci', 200, 0.87], ['uci', null, 0.904]]) },
  { name: 'mpnet_base', modality: 'text', dim: 768, description: 'all-mpnet-base-v2', available: true, default: false, detail: null, benchmark: measured(27, [['uci', 200, 0.929], ['uci', null, 0.939]]) },
  { name: 'deberta_v3_small', modality: 'text', dim: 768, description: 'DeBERTa', available: false, default: false, detail: 'deberta-v3-small not found', benchmark: null },
  { name: 'efficientnet_lite2', modality: 'image', dim: 1280, description: 'Lite2', available: true, default: false, detail: null, benchmark: measured(23, [['cifar10', 200, 0.589]]) },
];

describe('CreateProjectForm', () => {
  let created: Record<string, unknown>[];
  let backbones: unknown[];

  beforeEach(() => {
    created = [];
    backbones = [];
    push.mockReset();
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: Request | string, init?: RequestInit) => {
        const request = input instanceof Request ? input : new Request(input, init);
        const url = new URL(request.url);
        if (url.pathname === '/api/v1/strategies') return json({ data: strategies, count: strategies.length });
        if (url.pathname === '/api/v1/backbones') return json({ data: backbones, count: backbones.length });
        if (url.pathname === '/api/v1/projects' && request.method === 'POST') {
          created.push(JSON.parse(await request.text()));
          return json({ id: 5 }, 201);
        }
        return json({ detail: 'Not found' }, 404);
      }),
    );
  });

  const fill = () => {
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <CreateProjectForm />
      </QueryClientProvider>,
    );
    fireEvent.change(screen.getByLabelText(/Project name/), { target: { value: 'Reviews' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sentiment' }));
  };

  it('starts from the strategy the server recommends and says what it does', async () => {
    fill();
    const select = (await screen.findByRole('option', { name: 'Margin (recommended)' })).closest('select')!;
    expect(select.value).toBe('margin');
    expect(screen.getByText('Items whose two most likely labels are closest.')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Create project' }));
    await waitFor(() => expect(created).toHaveLength(1));
    expect(created[0]).toMatchObject({ name: 'Reviews', strategy: 'margin', labels: ['negative', 'positive'] });
    await waitFor(() => expect(push).toHaveBeenCalled());
  });

  it('sends the strategy the user picks instead', async () => {
    fill();
    const select = (await screen.findByRole('option', { name: 'Entropy' })).closest('select')!;
    fireEvent.change(select, { target: { value: 'entropy' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create project' }));
    await waitFor(() => expect(created).toHaveLength(1));
    expect(created[0].strategy).toBe('entropy');
  });

  it('shows each measured backbone of the task with its speed and accuracy, and sends the one picked', async () => {
    backbones = textBackbones;
    fill();
    const option = await screen.findByRole('option', { name: 'mpnet_base · 27 texts/s' });
    expect(screen.getByRole('option', { name: 'minilm_l6 (default) · 183 texts/s' })).toBeTruthy();
    const table = screen.getByRole('table', { name: /Measured speed and accuracy/ });
    const rows = within(table).getAllByRole('row');
    // header + the two measured text backbones: not the unmeasured one, not the image one
    expect(rows.map((r) => r.textContent)).toEqual([
      'BackboneEmbedsUCI sentences, 200 labelsUCI sentences, all labels',
      'minilm_l6183 texts/s87.0 %90.4 %',
      'mpnet_base27 texts/s92.9 %93.9 %',
    ]);
    expect(rows[1].getAttribute('aria-current')).toBe('true');
    expect(screen.getByText(/2-core x86_64 CPU.*mean of 3/)).toBeTruthy();
    fireEvent.change(option.closest('select')!, { target: { value: 'mpnet_base' } });
    expect(rows[2].getAttribute('aria-current')).toBe('true');
    fireEvent.click(screen.getByRole('button', { name: 'Create project' }));
    await waitFor(() => expect(created).toHaveLength(1));
    expect(created[0].backbone).toBe('mpnet_base');
  });

  it('shows no figures when none was measured', async () => {
    backbones = [textBackbones[2], { ...textBackbones[0], benchmark: null }];
    fill();
    await screen.findByRole('option', { name: 'minilm_l6 (default)' });
    expect(screen.queryByTestId('backbone-benchmarks')).toBeNull();
  });
});
