import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ToastProvider } from '@/components/ui/toast';
import type { Project, Role } from '@/lib/api/types';
import { MembersPanel } from './members-panel';

const projectAs = (role: Role) => ({ id: 3, name: 'Reviews', task: 'text_classification', labels: ['neg', 'pos'], role }) as unknown as Project;
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

const pending = [
  { id: 7, email: 'late@example.com', role: 'viewer', invited_by: 'Ann', created_at: '2026-12-01T00:00:00Z', expires_at: '2026-12-08T00:00:00Z', expired: true, mail_status: 'not_configured', mail_error: null },
  { id: 8, email: 'bounced@example.com', role: 'annotator', invited_by: 'Ann', created_at: '2026-12-02T00:00:00Z', expires_at: '2099-12-09T00:00:00Z', expired: false, mail_status: 'failed', mail_error: 'SMTPRecipientsRefused: no such mailbox' },
];
const created = {
  id: 9,
  email: 'bob@example.com',
  role: 'reviewer',
  invited_by: 'Ann',
  created_at: '2026-12-03T00:00:00Z',
  expires_at: '2026-12-10T00:00:00Z',
  expired: false,
  mail_status: 'not_configured',
  mail_error: null,
  token: 'tok_abcdefghijklmnopqrstuvwxyz0123456789ABCD',
  url: 'http://filament.test/invite/?token=tok_abcdefghijklmnopqrstuvwxyz0123456789ABCD',
};

describe('MembersPanel', () => {
  let calls: string[];
  let bodies: unknown[];
  beforeEach(() => {
    calls = [];
    bodies = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: Request) => {
        const url = new URL(input.url);
        calls.push(`${input.method} ${url.pathname}`);
        if (url.pathname === '/api/v1/users/me') return json({ id: 1, email: 'ann@example.com', name: 'Ann', created_at: '', is_admin: true });
        if (url.pathname.endsWith('/members')) return json({ data: [{ user_id: 1, email: 'ann@example.com', name: 'Ann', role: 'owner' }], count: 1 });
        if (url.pathname.endsWith('/invitations') && input.method === 'POST') {
          bodies.push(await input.json());
          return json(created, 201);
        }
        if (url.pathname.endsWith('/invitations')) return json({ data: pending, count: pending.length });
        if (input.method === 'DELETE') return new Response(null, { status: 204 });
        return json({ detail: 'Not found' }, 404);
      }),
    );
    vi.stubGlobal('navigator', { clipboard: { writeText: vi.fn(async () => undefined) } });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  const renderPanel = (role: Role) =>
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <ToastProvider>
          <MembersPanel project={projectAs(role)} />
        </ToastProvider>
      </QueryClientProvider>,
    );

  it('lists pending invitations with their expiry and mail status', async () => {
    renderPanel('owner');
    const table = await screen.findByTestId('invitations-table');
    const late = within(table).getByText('late@example.com').closest('tr')!;
    expect(late).toHaveTextContent('viewer');
    expect(late).toHaveTextContent('expired');
    const bounced = within(table).getByText('bounced@example.com').closest('tr')!;
    expect(bounced).toHaveTextContent('mail failed');
    expect(bounced).toHaveTextContent('no such mailbox');
    expect(bounced).toHaveTextContent(new Date('2099-12-09T00:00:00Z').toLocaleDateString());
  });

  it('invites, then shows the link once with a copy button', async () => {
    renderPanel('owner');
    fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'bob@example.com' } });
    fireEvent.change(screen.getByLabelText('Role'), { target: { value: 'reviewer' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send invitation' }));
    const link = await screen.findByLabelText('Invitation link');
    expect(link).toHaveValue(created.url);
    expect(bodies).toEqual([{ email: 'bob@example.com', role: 'reviewer' }]);
    expect(screen.getByText(/Send them this link/)).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Copy link' }));
    expect(navigator.clipboard.writeText).toHaveBeenCalledWith(created.url);
    expect(await screen.findByRole('button', { name: 'Copied' })).toBeInTheDocument();
    // the list is asked again, so the new invitation shows up there
    await vi.waitFor(() => expect(calls.filter((c) => c === 'GET /api/v1/projects/3/invitations')).toHaveLength(2));
  });

  it('revokes after asking', async () => {
    vi.spyOn(window, 'confirm').mockReturnValue(true);
    renderPanel('owner');
    fireEvent.click(await screen.findByRole('button', { name: 'Revoke the invitation of late@example.com' }));
    expect(window.confirm).toHaveBeenCalledWith(expect.stringContaining('late@example.com'));
    await vi.waitFor(() => expect(calls).toContain('DELETE /api/v1/projects/3/invitations/7'));
    await vi.waitFor(() => expect(calls.filter((c) => c === 'GET /api/v1/projects/3/invitations')).toHaveLength(2));
  });

  it.each(['reviewer', 'annotator', 'viewer'] as const)('a %s sees members, no invitations and no invite form', async (role) => {
    renderPanel(role);
    expect(await screen.findByTestId('members-table')).toHaveTextContent('ann@example.com');
    expect(screen.queryByRole('button', { name: 'Send invitation' })).toBeNull();
    expect(screen.queryByTestId('invitations-table')).toBeNull();
    expect(calls).not.toContain('GET /api/v1/projects/3/invitations');
  });
});
