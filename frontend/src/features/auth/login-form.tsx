'use client';
import { useRouter, useSearchParams } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { api, call } from '@/lib/api/client';
import { setToken } from '@/lib/auth';
import { safeNext } from '@/lib/safe-next';
import { Logo } from '@/components/app-header';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { TextField } from '@/components/ui/field';

export async function signIn(email: string, password: string): Promise<void> {
  const token = await call(
    api.POST('/api/v1/auth/token', {
      body: { username: email, password, scope: '' },
      bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    }),
  );
  setToken(token.access_token);
}

export function LoginForm() {
  const [mode, setMode] = useState<'signin' | 'register'>('signin');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const router = useRouter();
  const params = useSearchParams();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === 'register') {
        await call(api.POST('/api/v1/auth/register', { body: { email, password, name } }));
      }
      await signIn(email, password);
      router.replace(safeNext(params.get('next')));
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="auth-page">
      <div className="auth-card">
        <Logo />
        <h1 className="auth-title">{mode === 'signin' ? 'Sign in' : 'Create an account'}</h1>
        <p className="muted">Label a few, and let the model label the rest.</p>
        <div className="segmented" role="tablist">
          <button type="button" role="tab" aria-selected={mode === 'signin'} className={mode === 'signin' ? 'seg seg-active' : 'seg'} onClick={() => setMode('signin')}>
            Sign in
          </button>
          <button type="button" role="tab" aria-selected={mode === 'register'} className={mode === 'register' ? 'seg seg-active' : 'seg'} onClick={() => setMode('register')}>
            Register
          </button>
        </div>
        <form onSubmit={submit} className="stack">
          {mode === 'register' && <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" />}
          <TextField label="Email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="email" autoFocus />
          <TextField
            label="Password"
            type="password"
            required
            minLength={mode === 'register' ? 8 : undefined}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete={mode === 'register' ? 'new-password' : 'current-password'}
            hint={mode === 'register' ? 'At least 8 characters.' : undefined}
          />
          <ErrorMessage error={error} />
          <Button type="submit" variant="primary" size="lg" busy={busy}>
            {mode === 'signin' ? 'Sign in' : 'Create account'}
          </Button>
        </form>
      </div>
    </div>
  );
}
