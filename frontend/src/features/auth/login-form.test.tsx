import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LoginForm } from './login-form';

vi.mock('next/navigation', () => ({
  useRouter: () => ({ replace: vi.fn() }),
  useSearchParams: () => new URLSearchParams(),
}));

const serve = (config: { registration: string; first_account: boolean }) =>
  vi.stubGlobal(
    'fetch',
    vi.fn(async () => new Response(JSON.stringify(config), { status: 200, headers: { 'Content-Type': 'application/json' } })),
  );

const renderForm = () =>
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <LoginForm />
    </QueryClientProvider>,
  );

describe('LoginForm', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('offers to register on an open server', async () => {
    serve({ registration: 'open', first_account: false });
    renderForm();
    expect(await screen.findByRole('tab', { name: 'Register' })).toBeInTheDocument();
  });

  it.each([
    ['invite-only', /open the link a project owner sent you/],
    ['closed', /made by the administrator/],
  ])('hides Register when registration is %s, and says how to get an account', async (registration, hint) => {
    serve({ registration, first_account: false });
    renderForm();
    expect(await screen.findByText(hint)).toBeInTheDocument();
    expect(screen.queryByRole('tab', { name: 'Register' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeInTheDocument();
  });

  it('lets the first account register even on a closed server', async () => {
    serve({ registration: 'closed', first_account: true });
    renderForm();
    expect(await screen.findByRole('tab', { name: 'Register' })).toBeInTheDocument();
  });
});
