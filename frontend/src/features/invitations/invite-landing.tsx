'use client';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { Logo } from '@/components/app-header';
import { Alert, ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Loading } from '@/components/ui/spinner';
import { AuthForm } from '@/features/auth/auth-form';
import { ApiError } from '@/lib/api/errors';
import { useAcceptInvitation, useConfig, useInvitation, useMe, useSignOut } from '@/lib/api/queries';
import type { InvitationView } from '@/lib/api/types';
import { useToken } from '@/lib/use-session';

/**
 * Where an invitation link lands (`/invite/?token=...`): says which project, role and inviter,
 * lets the invited person sign in or register with the invited email, then accept, and takes
 * them into the project.
 */
export function InviteLanding() {
  const token = useSearchParams().get('token') ?? '';
  const invitation = useInvitation(token);
  return (
    <div className="auth-page">
      <div className="auth-card">
        <Logo />
        {!token ? (
          <Alert tone="error">This link has no invitation in it: open the whole link you were sent.</Alert>
        ) : invitation.isPending ? (
          <Loading />
        ) : invitation.error ? (
          <Refused error={invitation.error} />
        ) : (
          <Invited token={token} invitation={invitation.data} />
        )}
      </div>
    </div>
  );
}

function Refused({ error }: { error: unknown }) {
  const status = error instanceof ApiError ? error.status : 0;
  return (
    <div className="stack">
      <ErrorMessage title={status === 404 ? 'This invitation is not valid' : status === 409 ? 'This invitation cannot be used' : undefined} error={error} />
      <Link href="/login/">Go to sign-in</Link>
    </div>
  );
}

function Invited({ token, invitation }: { token: string; invitation: InvitationView }) {
  const session = useToken();
  const me = useMe(!!session);
  const config = useConfig();
  const accept = useAcceptInvitation();
  const signOut = useSignOut();
  const router = useRouter();
  // an invitation lets its email register unless registration is closed
  const mayRegister = config.data ? config.data.registration !== 'closed' || config.data.first_account : false;

  const summary = (
    <p data-testid="invitation-summary">
      {invitation.inviter ?? 'A project owner'} invites <strong>{invitation.email}</strong> to <strong>{invitation.project}</strong> as {invitation.role}.
    </p>
  );

  if (session === undefined || (session && me.isPending)) return <Loading />;
  if (!session) {
    return (
      <div className="stack">
        {summary}
        <AuthForm
          allowRegister={mayRegister}
          fixedEmail={invitation.email}
          invitation={token}
          intro={<p className="muted">{mayRegister ? 'Sign in, or register with the invited email, to accept.' : 'Sign in with the invited email to accept.'}</p>}
          onDone={() => undefined}
        />
      </div>
    );
  }
  if (me.error) return <ErrorMessage error={me.error} />;
  const email = me.data?.email ?? '';
  if (email.toLowerCase() !== invitation.email.toLowerCase()) {
    return (
      <div className="stack">
        {summary}
        <Alert tone="warning">
          You are signed in as {email}. The invitation is for {invitation.email}: sign out, then sign in or register with that email.
        </Alert>
        <Button onClick={signOut}>Sign out</Button>
      </div>
    );
  }
  return (
    <div className="stack">
      <h1 className="auth-title">Join {invitation.project}</h1>
      {summary}
      <ErrorMessage error={accept.error} />
      <Button
        variant="primary"
        size="lg"
        busy={accept.isPending}
        onClick={() => accept.mutate(token, { onSuccess: (joined) => router.replace(`/dashboard/?project=${joined.project_id}`) })}
      >
        Accept invitation
      </Button>
    </div>
  );
}
