'use client';
import { useRouter, useSearchParams } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { Logo } from '@/components/app-header';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { TextField } from '@/components/ui/field';
import { useSignIn } from '@/lib/api/queries';
import { safeNext } from '@/lib/safe-next';

export function LoginForm() {
  const [mode, setMode] = useState<'signin' | 'register'>('signin');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const signIn = useSignIn();
  const router = useRouter();
  const params = useSearchParams();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate({ email, password, register: mode === 'register' ? { name } : undefined }, { onSuccess: () => router.replace(safeNext(params.get('next'))) });
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
          <ErrorMessage error={signIn.error} />
          <Button type="submit" variant="primary" size="lg" busy={signIn.isPending}>
            {mode === 'signin' ? 'Sign in' : 'Create account'}
          </Button>
        </form>
      </div>
    </div>
  );
}
