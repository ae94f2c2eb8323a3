'use client';
import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { SelectField, TextField } from '@/components/ui/field';
import { Card, PageHeader } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';
import { useToast } from '@/components/ui/toast';
import { useAddMember, useChangeMemberRole, useMe, useMembers, useRemoveMember } from '@/lib/api/queries';
import type { Project, Role } from '@/lib/api/types';

const ROLES: { value: Role; hint: string }[] = [
  { value: 'owner', hint: 'everything, including members and settings' },
  { value: 'reviewer', hint: 'labels, resolves conflicts, sees everyone’s figures, downloads models' },
  { value: 'annotator', hint: 'labels and reviews suggestions' },
  { value: 'viewer', hint: 'sees items, labels and the model' },
];

export function MembersPanel({ project }: { project: Project }) {
  const owner = project.role === 'owner';
  const members = useMembers(project.id);
  const me = useMe();
  const notify = useToast();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('annotator');
  const add = useAddMember(project.id);
  const change = useChangeMemberRole(project.id);
  const remove = useRemoveMember(project.id);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    // through the promise, so the toast comes even if the page was left meanwhile; a refusal shows as add.error
    add.mutateAsync({ email, role }).then(
      () => {
        notify(`${email} added`, 'success');
        setEmail('');
      },
      () => undefined,
    );
  };

  return (
    <div className="stack-lg narrow">
      <PageHeader title="Members" description="Everyone who can see this project, and what they may do." />
      {owner ? (
        <Card title="Add a member">
          <form onSubmit={submit} className="stack">
            <div className="grid-2">
              <TextField label="Email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} hint="They need an account already." />
              <SelectField label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)} hint={ROLES.find((r) => r.value === role)?.hint}>
                {ROLES.map((r) => (
                  <option key={r.value} value={r.value}>
                    {r.value}
                  </option>
                ))}
              </SelectField>
            </div>
            <ErrorMessage error={add.error} />
            <div className="row-end">
              <Button type="submit" variant="primary" busy={add.isPending}>
                Add member
              </Button>
            </div>
          </form>
        </Card>
      ) : (
        <p className="muted">Only owners can add, change or remove members.</p>
      )}
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
