'use client';
import { useRouter, useSearchParams } from 'next/navigation';
import { Logo } from '@/components/app-header';
import { registrationOpen, useConfig } from '@/lib/api/queries';
import { safeNext } from '@/lib/safe-next';
import { AuthForm } from './auth-form';

export function LoginForm() {
  const router = useRouter();
  const params = useSearchParams();
  const config = useConfig();
  const open = registrationOpen(config.data);
  return (
    <div className="auth-page">
      <div className="auth-card">
        <Logo />
        <AuthForm allowRegister={open} intro={<p className="muted">Label a few, and let the model label the rest.</p>} onDone={() => router.replace(safeNext(params.get('next')))} />
        {config.data && !open && (
          <p className="muted small">
            {config.data.registration === 'invite-only'
              ? 'New accounts come with an invitation: open the link a project owner sent you.'
              : 'Accounts are made by the administrator of this server.'}
          </p>
        )}
      </div>
    </div>
  );
}
