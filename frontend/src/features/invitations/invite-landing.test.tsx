import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setToken } from '@/lib/auth';
import { InviteLanding } from './invite-landing';

const TOKEN = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const replace = vi.fn();
let search = `token=${TOKEN}`;
vi.mock('next/navigation', () => ({
  useRouter: () => ({ replace, push: vi.fn() }),
  useSearchParams: () => new URLSearchParams(search),
}));

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
const view = { project: 'Reviews', role: 'annotator', inviter: 'Ann', email: 'bob@example.com' };

describe('the invitation page', () => {
  let calls: string[];
  let registered: unknown[];
  let config: { registration: string; first_account: boolean };
  let me: { email: string };
  let invitation: Response | null;

  beforeEach(() => {
    calls = [];
    registered = [];
    config = { registration: 'invite-only', first_account: false };
    me = { email: 'bob@example.com' };
    invitation = null;
    search = `token=${TOKEN}`;
    replace.mockReset();
    setToken(null);
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: Request) => {
        const url = new URL(input.url);
        calls.push(`${input.method} ${url.pathname}`);
        if (url.pathname === '/api/v1/config') return json(config);
        if (url.pathname === `/api/v1/invitations/${TOKEN}`) return invitation ?? json(view);
        if (url.pathname === '/api/v1/auth/register') {
          registered.push(await input.json());
          return json({ id: 2, email: 'bob@example.com', name: 'Bob', created_at: '', is_admin: false }, 201);
        }
        if (url.pathname === '/api/v1/auth/token') return json({ access_token: 'session-token', token_type: 'bearer' });
        if (url.pathname === '/api/v1/users/me') return json({ id: 2, name: '', created_at: '', is_admin: false, ...me });
        if (url.pathname === `/api/v1/invitations/${TOKEN}/accept`) return json({ project_id: 3, role: 'annotator' });
        return json({ detail: 'Not found' }, 404);
      }),
    );
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    setToken(null);
  });

  const renderPage = () =>
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <InviteLanding />
      </QueryClientProvider>,
    );

  it('registers the invited email through the link, accepts and lands in the project', async () => {
    renderPage();
    expect(await screen.findByTestId('invitation-summary')).toHaveTextContent('Ann invites bob@example.com to Reviews as annotator.');
    fireEvent.click(await screen.findByRole('tab', { name: 'Register' }));
    const email = screen.getByLabelText('Email');
    expect(email).toHaveValue('bob@example.com');
    expect(email).toHaveAttribute('readonly');
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Bob' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'a long password' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create account' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Accept invitation' }));
    await vi.waitFor(() => expect(replace).toHaveBeenCalledWith('/dashboard/?project=3'));
    expect(registered).toEqual([{ email: 'bob@example.com', password: 'a long password', name: 'Bob', invitation: TOKEN }]);
    expect(calls).toContain(`POST /api/v1/invitations/${TOKEN}/accept`);
  });

  it('offers only sign-in when registration is closed', async () => {
    config = { registration: 'closed', first_account: false };
    renderPage();
    expect(await screen.findByText('Sign in with the invited email to accept.')).toBeInTheDocument();
    expect(screen.queryByRole('tab', { name: 'Register' })).toBeNull();
  });

  it('tells someone signed in with another email to switch accounts', async () => {
    setToken('other-session');
    me = { email: 'mallory@example.com' };
    renderPage();
    expect(await screen.findByText(/You are signed in as mallory@example.com/)).toHaveTextContent('The invitation is for bob@example.com');
    expect(screen.queryByRole('button', { name: 'Accept invitation' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Sign out' }));
    expect(await screen.findByRole('button', { name: 'Sign in' })).toBeInTheDocument();
  });

  it('says why a revoked or used link does not work', async () => {
    invitation = json({ detail: 'Invitation not found: it may have been revoked or replaced by a newer one' }, 404);
    renderPage();
    expect(await screen.findByText('This invitation is not valid')).toBeInTheDocument();
    expect(screen.getByText(/revoked or replaced/)).toBeInTheDocument();
  });

  it('asks for the whole link when the token is missing', () => {
    search = '';
    renderPage();
    expect(screen.getByText(/no invitation in it/)).toBeInTheDocument();
    expect(calls).toEqual([]);
  });
});
