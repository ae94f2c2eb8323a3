import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
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

describe('CreateProjectForm', () => {
  let created: Record<string, unknown>[];

  beforeEach(() => {
    created = [];
    push.mockReset();
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: Request | string, init?: RequestInit) => {
        const request = input instanceof Request ? input : new Request(input, init);
        const url = new URL(request.url);
        if (url.pathname === '/api/v1/strategies') return json({ data: strategies, count: strategies.length });
        if (url.pathname === '/api/v1/backbones') return json({ data: [], count: 0 });
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
});
