'use client';
import { useState, type FormEvent } from 'react';
import { Alert, ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { SelectField, TextField } from '@/components/ui/field';
import { Badge, Card, PageHeader } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';
import { useToast } from '@/components/ui/toast';
import { useChangeMemberRole, useInvitations, useInvite, useMe, useMembers, useRemoveMember, useRevokeInvitation } from '@/lib/api/queries';
import type { Invitation, InvitationCreated, Project, Role } from '@/lib/api/types';
import { can } from '@/lib/permissions';

const ROLES: { value: Role; hint: string }[] = [
  { value: 'owner', hint: 'everything, including members and settings' },
  { value: 'reviewer', hint: 'labels, resolves conflicts, sees everyone’s figures, downloads models' },
  { value: 'annotator', hint: 'labels and reviews suggestions' },
  { value: 'viewer', hint: 'sees items, labels and the model' },
];

const MAIL: Record<Invitation['mail_status'], { text: string; tone: 'neutral' | 'success' | 'warning' | 'danger' }> = {
  not_configured: { text: 'link only', tone: 'neutral' },
  sending: { text: 'mailing…', tone: 'warning' },
  sent: { text: 'mailed', tone: 'success' },
  failed: { text: 'mail failed', tone: 'danger' },
};

export function MembersPanel({ project }: { project: Project }) {
  const owner = can(project, 'manageMembers');
  const members = useMembers(project.id);
  const me = useMe();
  const change = useChangeMemberRole(project.id);
  const remove = useRemoveMember(project.id);

  return (
    <div className="stack-lg narrow">
      <PageHeader title="Members" description="Everyone who can see this project, and what they may do." />
      {owner ? <InviteCard project={project} /> : <p className="muted">Only owners can invite, change or remove members.</p>}
      {owner && <PendingInvitations project={project} />}
      <Card title="Members">
        <ErrorMessage error={change.error ?? remove.error} />
        {members.isPending ? (
          <Loading />
        ) : members.error ? (
          <ErrorMessage error={members.error} />
        ) : (
          <table className="table" data-testid="members-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Email</th>
                <th>Role</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {members.data.data.map((m) => {
                const self = m.user_id === me.data?.id;
                return (
                  <tr key={m.user_id}>
                    <td>
                      {m.name || '—'} {self && <span className="muted small">(you)</span>}
                    </td>
                    <td>{m.email}</td>
                    <td>
                      {owner && !self ? (
                        <select
                          className="input correct-select"
                          aria-label={`Role of ${m.email}`}
                          value={m.role}
                          onChange={(e) => change.mutate({ userId: m.user_id, role: e.target.value as Role })}
                        >
                          {ROLES.map((r) => (
                            <option key={r.value}>{r.value}</option>
                          ))}
                        </select>
                      ) : (
                        m.role
                      )}
                    </td>
                    <td style={{ textAlign: 'right' }}>
                      {owner && !self && (
                        <Button
                          size="sm"
                          variant="danger"
                          onClick={() => {
                            if (window.confirm(`Remove ${m.email} from ${project.name}?`)) remove.mutate(m.user_id);
                          }}
                        >
                          Remove
                        </Button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}

/** The invite form; after sending, the link (shown only now) with a copy button. */
function InviteCard({ project }: { project: Project }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('annotator');
  const [sent, setSent] = useState<InvitationCreated | null>(null);
  const invite = useInvite(project.id);
  const notify = useToast();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    // through the promise, so the toast comes even if the page was left meanwhile; a refusal shows as invite.error
    invite.mutateAsync({ email, role }).then(
      (invitation) => {
        setSent(invitation);
        setEmail('');
        notify(`${invitation.email} invited`, 'success');
      },
      () => undefined,
    );
  };

  return (
    <Card title="Invite someone">
      <form onSubmit={submit} className="stack">
        <div className="grid-2">
          <TextField label="Email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} hint="Only an account with this email can accept." />
          <SelectField label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)} hint={ROLES.find((r) => r.value === role)?.hint}>
            {ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.value}
              </option>
            ))}
          </SelectField>
        </div>
        <ErrorMessage error={invite.error} />
        <div className="row-end">
          <Button type="submit" variant="primary" busy={invite.isPending}>
            Send invitation
          </Button>
        </div>
      </form>
      {sent && <InvitationLink invitation={sent} />}
    </Card>
  );
}

function InvitationLink({ invitation }: { invitation: InvitationCreated }) {
  const [copied, setCopied] = useState(false);
  const copy = () => {
    void navigator.clipboard?.writeText(invitation.url).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  };
  const mailed = invitation.mail_status !== 'not_configured';
  return (
    <Alert tone="success" title={`Invitation for ${invitation.email} (${invitation.role})`}>
      <div className="stack">
        <span>
          {mailed ? 'It is being mailed to them; you can also send this link yourself.' : 'Send them this link.'} It works once, for {invitation.email}, until{' '}
          {new Date(invitation.expires_at).toLocaleDateString()}, and is shown only now.
        </span>
        <div className="row">
          <input className="input" readOnly aria-label="Invitation link" value={invitation.url} onFocus={(e) => e.currentTarget.select()} style={{ flex: 1 }} />
          <Button size="sm" onClick={copy}>
            {copied ? 'Copied' : 'Copy link'}
          </Button>
        </div>
      </div>
    </Alert>
  );
}

function PendingInvitations({ project }: { project: Project }) {
  const invitations = useInvitations(project.id);
  const revoke = useRevokeInvitation(project.id);
  if (invitations.isPending) return <Loading />;
  if (invitations.error) return <ErrorMessage error={invitations.error} />;
  if (!invitations.data.data.length) return null;
  return (
    <Card title="Pending invitations">
      <ErrorMessage error={revoke.error} />
      <table className="table" data-testid="invitations-table">
        <thead>
          <tr>
            <th>Email</th>
            <th>Role</th>
            <th>Expires</th>
            <th>Mail</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {invitations.data.data.map((invitation) => {
            const mail = MAIL[invitation.mail_status];
            return (
              <tr key={invitation.id}>
                <td>{invitation.email}</td>
                <td>{invitation.role}</td>
                <td>{invitation.expired ? <Badge tone="warning">expired</Badge> : new Date(invitation.expires_at).toLocaleDateString()}</td>
                <td>
                  <Badge tone={mail.tone} title={invitation.mail_error ?? undefined}>
                    {mail.text}
                  </Badge>
                  {invitation.mail_error && <div className="muted small">{invitation.mail_error}</div>}
                </td>
                <td style={{ textAlign: 'right' }}>
                  <Button
                    size="sm"
                    variant="danger"
                    aria-label={`Revoke the invitation of ${invitation.email}`}
                    onClick={() => {
                      if (window.confirm(`Revoke the invitation of ${invitation.email}? Its link stops working.`)) revoke.mutate(invitation.id);
                    }}
                  >
                    Revoke
                  </Button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Card>
  );
}
