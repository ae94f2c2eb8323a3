'use client';
import { useState, type FormEvent, type ReactNode } from 'react';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { TextField } from '@/components/ui/field';
import { useSignIn } from '@/lib/api/queries';

interface AuthFormProps {
  /** Offer "Register" next to "Sign in" (the server's mode allows it, or an invitation does). */
  allowRegister: boolean;
  /** The email is given and cannot be changed (an invitation's). */
  fixedEmail?: string;
  /** An invitation's token, sent with the registration (invite-only servers ask for it). */
  invitation?: string;
  /** Shown under the title. */
  intro?: ReactNode;
  onDone: () => void;
}

/** Sign in, or register and sign in: the sign-in page's form and the invitation page's. */
export function AuthForm({ allowRegister, fixedEmail, invitation, intro, onDone }: AuthFormProps) {
  const [chosen, setMode] = useState<'signin' | 'register'>('signin');
  const mode = allowRegister ? chosen : 'signin';
  const [typedEmail, setEmail] = useState('');
  const email = fixedEmail ?? typedEmail;
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const signIn = useSignIn();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate({ email, password, register: mode === 'register' ? { name, invitation } : undefined }, { onSuccess: onDone });
  };

  return (
    <>
      <h1 className="auth-title">{mode === 'signin' ? 'Sign in' : 'Create an account'}</h1>
      {intro}
      {allowRegister && (
        <div className="segmented" role="tablist">
          <button type="button" role="tab" aria-selected={mode === 'signin'} className={mode === 'signin' ? 'seg seg-active' : 'seg'} onClick={() => setMode('signin')}>
            Sign in
          </button>
          <button type="button" role="tab" aria-selected={mode === 'register'} className={mode === 'register' ? 'seg seg-active' : 'seg'} onClick={() => setMode('register')}>
            Register
          </button>
        </div>
      )}
      <form onSubmit={submit} className="stack">
        {mode === 'register' && <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" />}
        <TextField
          label="Email"
          type="email"
          required
          value={email}
          readOnly={fixedEmail !== undefined}
          onChange={(e) => setEmail(e.target.value)}
          autoComplete="email"
          autoFocus={fixedEmail === undefined}
          hint={fixedEmail !== undefined ? 'The invitation is for this email.' : undefined}
        />
        <TextField
          label="Password"
          type="password"
          required
          minLength={mode === 'register' ? 8 : undefined}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoComplete={mode === 'register' ? 'new-password' : 'current-password'}
          autoFocus={fixedEmail !== undefined}
          hint={mode === 'register' ? 'At least 8 characters.' : undefined}
        />
        <ErrorMessage error={signIn.error} />
        <Button type="submit" variant="primary" size="lg" busy={signIn.isPending}>
          {mode === 'signin' ? 'Sign in' : 'Create account'}
        </Button>
      </form>
    </>
  );
}
