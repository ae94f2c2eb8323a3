import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Project, Role } from '@/lib/api/types';
import { WebhooksCard } from './webhooks-card';
import { ToastProvider } from '@/components/ui/toast';

const projectAs = (role: Role) => ({ id: 3, name: 'P', task: 'text_classification', labels: ['a', 'b'], role }) as unknown as Project;
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const hook = {
  id: 7,
  url: 'https://hooks.example.com/in',
  events: ['annotation.created', 'model.activated'],
  active: true,
  secret_hint: 'whsec_ab…wxyz',
  created_by: 1,
  created_at: '2026-12-03T08:00:00Z',
};
const delivery = {
  id: 41,
  webhook_id: 7,
  event: 'ping',
  event_id: 'evt_1',
  state: 'delivered',
  attempts: 3,
  status_code: 200,
  error: null,
  attempt_log: [
    { at: '2026-12-03T08:00:01Z', status_code: 500, error: 'HTTP 500', seconds: 0.1 },
    { at: '2026-12-03T08:00:11Z', status_code: 500, error: 'HTTP 500', seconds: 0.1 },
    { at: '2026-12-03T08:01:11Z', status_code: 200, error: null, seconds: 0.1 },
  ],
  payload: {},
  created_at: '2026-12-03T08:00:00Z',
  next_attempt_at: null,
  delivered_at: '2026-12-03T08:01:11Z',
};

describe('WebhooksCard', () => {
  let calls: { method: string; path: string; body: unknown }[];
  beforeEach(() => {
    calls = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: Request) => {
        const url = new URL(input.url);
        const text = input.method === 'GET' || input.method === 'DELETE' ? '' : await input.text();
        calls.push({ method: input.method, path: url.pathname, body: text ? JSON.parse(text) : null });
        const base = '/api/v1/projects/3/webhooks';
        if (input.method === 'POST' && url.pathname === base) return json({ ...hook, id: 8, url: 'https://new.example.com/h', secret: 'whsec_the_whole_secret_value' }, 201);
        if (input.method === 'POST' && url.pathname.endsWith('/test')) return json({ ...delivery, id: 42, state: 'pending', attempts: 0, attempt_log: [] }, 202);
        if (input.method === 'PATCH') return json({ ...hook, active: false });
        if (input.method === 'DELETE') return new Response(null, { status: 204 });
        if (url.pathname.endsWith('/deliveries')) return json({ data: [delivery], count: 1 });
        return json({ data: [hook], count: 1 });
      }),
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  const renderCard = (role: Role = 'owner') =>
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <ToastProvider>
          <WebhooksCard project={projectAs(role)} />
        </ToastProvider>
      </QueryClientProvider>,
    );

  it.each(['annotator', 'reviewer', 'viewer'] as const)('is hidden, and asks nothing, for a %s', (role) => {
    renderCard(role);
    expect(screen.queryByText('Webhooks')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Add webhook' })).toBeNull();
    expect(screen.queryByLabelText('Payload URL')).toBeNull();
    expect(calls).toEqual([]);
  });

  it('lists webhooks with a masked secret', async () => {
    renderCard();
    const row = await screen.findByTestId('webhook-row');
    expect(row).toHaveTextContent('https://hooks.example.com/in');
    expect(row).toHaveTextContent('annotation.created, model.activated');
    expect(row).toHaveTextContent('whsec_ab…wxyz');
    expect(row).toHaveTextContent('enabled');
  });

  it('adds a webhook with the chosen events and shows its secret once', async () => {
    renderCard();
    await screen.findByTestId('webhook-row');
    fireEvent.change(screen.getByLabelText('Payload URL'), { target: { value: ' https://new.example.com/h ' } });
    fireEvent.click(screen.getByRole('checkbox', { name: /job\.finished/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Add webhook' }));
    const secret = await screen.findByLabelText('Signing secret');
    expect(secret).toHaveValue('whsec_the_whole_secret_value');
    const created = calls.find((c) => c.method === 'POST' && c.path === '/api/v1/projects/3/webhooks');
    expect(created?.body).toEqual({ url: 'https://new.example.com/h', events: ['annotation.created', 'model.activated', 'suggestions.reviewed'], active: true });
    fireEvent.click(screen.getByRole('button', { name: 'Done' }));
    expect(screen.queryByLabelText('Signing secret')).toBeNull();
  });

  it('refuses to add without events', async () => {
    renderCard();
    await screen.findByTestId('webhook-row');
    fireEvent.change(screen.getByLabelText('Payload URL'), { target: { value: 'https://x.example.com' } });
    for (const box of screen.getAllByRole('checkbox')) fireEvent.click(box);
    expect(screen.getByRole('button', { name: 'Add webhook' })).toBeDisabled();
  });

  it('disables, sends a test and shows the delivery log with every status code', async () => {
    renderCard();
    await screen.findByTestId('webhook-row');
    fireEvent.click(screen.getByRole('button', { name: 'Disable https://hooks.example.com/in' }));
    await vi.waitFor(() => expect(calls).toContainEqual({ method: 'PATCH', path: '/api/v1/projects/3/webhooks/7', body: { active: false } }));
    fireEvent.click(screen.getByRole('button', { name: 'Send a test to https://hooks.example.com/in' }));
    await vi.waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.path === '/api/v1/projects/3/webhooks/7/test')).toBe(true));
    const log = await screen.findByTestId('delivery-log');
    const row = within(log).getByTestId('delivery-row');
    expect(row).toHaveTextContent('ping');
    expect(row).toHaveTextContent('500, 500, 200');
    expect(row).toHaveTextContent('delivered');
    fireEvent.click(within(row).getByRole('button', { name: 'Redeliver delivery 41' }));
    await vi.waitFor(() => expect(calls.some((c) => c.path === '/api/v1/projects/3/webhooks/7/deliveries/41/redeliver')).toBe(true));
  });

  it('asks before deleting', async () => {
    renderCard();
    await screen.findByTestId('webhook-row');
    fireEvent.click(screen.getByRole('button', { name: 'Delete https://hooks.example.com/in' }));
    expect(screen.getByRole('alertdialog')).toHaveTextContent('Nothing more is sent to https://hooks.example.com/in');
    fireEvent.click(screen.getByRole('button', { name: 'Delete webhook' }));
    await vi.waitFor(() => expect(calls.some((c) => c.method === 'DELETE' && c.path === '/api/v1/projects/3/webhooks/7')).toBe(true));
  });
});
