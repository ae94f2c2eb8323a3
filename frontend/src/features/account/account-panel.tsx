'use client';
import { useState, type FormEvent } from 'react';
import { Alert, ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { TextField } from '@/components/ui/field';
import { Card, PageHeader } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';
import { useCreateToken, useMe, useRevokeToken, useTokens } from '@/lib/api/queries';

/** The signed-in user and their personal API tokens (for scripts and the SDK). */
export function AccountPanel() {
  const me = useMe();
  const [name, setName] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  const tokens = useTokens();
  const create = useCreateToken();
  const revoke = useRevokeToken();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(name, {
      onSuccess: (token) => {
        setCreated(token.token);
        setName('');
      },
    });
  };
  return (
    <div className="narrow stack-lg">
      <PageHeader title="Account" description={me.data ? `${me.data.name || me.data.email} · ${me.data.email}` : undefined} />
      <Card title="API tokens">
        <div className="stack">
          <p className="muted">Tokens let scripts call the REST API as you: send <code>Authorization: Bearer &lt;token&gt;</code>.</p>
          <form onSubmit={submit} className="row" style={{ alignItems: 'flex-end' }}>
            <div style={{ flex: 1 }}>
              <TextField label="Token name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. training notebook" />
            </div>
            <Button type="submit" variant="primary" busy={create.isPending}>
              Create token
            </Button>
          </form>
          <ErrorMessage error={create.error ?? revoke.error} />
          {created && (
            <Alert tone="success" title="Copy this token now; it is not shown again.">
              <code style={{ wordBreak: 'break-all' }}>{created}</code>
            </Alert>
          )}
          {tokens.isPending ? (
            <Loading />
          ) : tokens.error ? (
            <ErrorMessage error={tokens.error} />
          ) : tokens.data.data.length ? (
            <table className="table">
              <tbody>
                {tokens.data.data.map((token) => (
                  <tr key={token.id}>
                    <td>{token.name}</td>
                    <td className="muted small">created {new Date(token.created_at).toLocaleDateString()}</td>
                    <td className="muted small">{token.last_used_at ? `used ${new Date(token.last_used_at).toLocaleString()}` : 'never used'}</td>
                    <td style={{ textAlign: 'right' }}>
                      <Button size="sm" variant="danger" onClick={() => revoke.mutate(token.id)}>
                        Revoke
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted small">No tokens yet.</p>
          )}
        </div>
      </Card>
    </div>
  );
}
