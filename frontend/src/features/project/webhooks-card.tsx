'use client';
import { Fragment, useState, type FormEvent } from 'react';
import { errorMessage } from '@/lib/api/errors';
import { useCreateWebhook, useDeleteWebhook, useDeliveries, useRedeliver, useRotateWebhookSecret, useTestWebhook, useUpdateWebhook, useWebhooks } from '@/lib/api/queries';
import type { Project, Webhook, WebhookCreated, WebhookDelivery, WebhookEvent } from '@/lib/api/types';
import { can } from '@/lib/permissions';
import { timeAgo } from '@/lib/time';
import { Alert, ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { TextField } from '@/components/ui/field';
import { Badge, Card, EmptyState } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';
import { useToast } from '@/components/ui/toast';

export const EVENTS: { value: WebhookEvent; hint: string }[] = [
  { value: 'annotation.created', hint: 'someone labels an item (or changes their label)' },
  { value: 'model.activated', hint: 'a newly trained model becomes the active one' },
  { value: 'job.finished', hint: 'an upload, embedding, fine-tune or archive job ends' },
  { value: 'suggestions.reviewed', hint: 'someone accepts, corrects or rejects suggestions' },
];

const STATE_TONE = { delivered: 'success', pending: 'warning', failed: 'danger' } as const;

/** The signing secret, shown whole only after creating or rotating (the server keeps no way to show it again). */
function SecretOnce({ created, onDismiss }: { created: WebhookCreated; onDismiss: () => void }) {
  const [copied, setCopied] = useState(false);
  const copy = () => {
    void navigator.clipboard?.writeText(created.secret).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  };
  return (
    <Alert tone="success" title="Signing secret">
      <div className="stack">
        <span>
          Deliveries to {created.url} are signed with this secret (the <code>Filament-Signature</code> header). It is shown only now; keep it where your receiver can read it.
        </span>
        <div className="row">
          <input className="input" readOnly aria-label="Signing secret" value={created.secret} onFocus={(e) => e.currentTarget.select()} style={{ flex: 1 }} />
          <Button size="sm" onClick={copy}>
            {copied ? 'Copied' : 'Copy secret'}
          </Button>
          <Button size="sm" variant="ghost" onClick={onDismiss}>
            Done
          </Button>
        </div>
      </div>
    </Alert>
  );
}

function AddWebhookForm({ project, onCreated }: { project: Project; onCreated: (created: WebhookCreated) => void }) {
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<WebhookEvent[]>(EVENTS.map((e) => e.value));
  const create = useCreateWebhook(project.id);
  const toggle = (event: WebhookEvent) => setEvents((chosen) => (chosen.includes(event) ? chosen.filter((e) => e !== event) : [...chosen, event]));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutateAsync({ url: url.trim(), events, active: true }).then(
      (created) => {
        setUrl('');
        onCreated(created);
      },
      () => undefined, // shown as create.error
    );
  };
  return (
    <form onSubmit={submit} className="stack" aria-label="Add a webhook">
      <TextField label="Payload URL" type="url" required placeholder="https://example.com/filament-hook" value={url} onChange={(e) => setUrl(e.target.value)} hint="An http(s) URL of a public host; Filament POSTs signed JSON to it." />
      <fieldset className="stack-sm">
        <legend className="field-label">Events</legend>
        {EVENTS.map((event) => (
          <label key={event.value} className="row small">
            <input type="checkbox" checked={events.includes(event.value)} onChange={() => toggle(event.value)} /> <code>{event.value}</code> <span className="muted">— {event.hint}</span>
          </label>
        ))}
      </fieldset>
      {create.error ? <ErrorMessage error={new Error(errorMessage(create.error))} /> : null}
      <div className="row-end">
        <Button type="submit" variant="primary" busy={create.isPending} disabled={!events.length || !url.trim()}>
          Add webhook
        </Button>
      </div>
    </form>
  );
}

/** A webhook's deliveries: event, each attempt's status code, attempts, time and state; redeliver any of them. */
export function DeliveryLog({ project, webhook }: { project: Project; webhook: Webhook }) {
  const deliveries = useDeliveries(project.id, webhook.id);
  const redeliver = useRedeliver(project.id);
  if (deliveries.isPending) return <Loading />;
  if (deliveries.error) return <ErrorMessage error={deliveries.error} title="Could not load the deliveries" />;
  const rows = deliveries.data.data;
  if (!rows.length) return <p className="muted small">No deliveries yet. Send a test to see one.</p>;
  return (
    <div className="table-wrap">
      <table className="table" data-testid="delivery-log" aria-label={`Deliveries to ${webhook.url}`}>
        <thead>
          <tr>
            <th>Event</th>
            <th>Status codes</th>
            <th className="num">Attempts</th>
            <th>Time</th>
            <th>State</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((delivery: WebhookDelivery) => (
            <tr key={delivery.id} data-testid="delivery-row">
              <td>
                <code>{delivery.event}</code>
              </td>
              <td className="tabular" title={delivery.error ?? undefined}>
                {delivery.attempt_log.length ? delivery.attempt_log.map((a) => a.status_code ?? 'no answer').join(', ') : '—'}
                {delivery.error && delivery.state !== 'delivered' ? <div className="muted small">{delivery.error}</div> : null}
              </td>
              <td className="num tabular">{delivery.attempts}</td>
              <td className="small" title={delivery.created_at}>
                {timeAgo(delivery.created_at)}
              </td>
              <td>
                <Badge tone={STATE_TONE[delivery.state]}>{delivery.state}</Badge>
              </td>
              <td className="row-end">
                <Button
                  size="sm"
                  variant="ghost"
                  aria-label={`Redeliver delivery ${delivery.id}`}
                  busy={redeliver.isPending && redeliver.variables?.deliveryId === delivery.id}
                  onClick={() => redeliver.mutate({ webhookId: webhook.id, deliveryId: delivery.id })}
                >
                  Redeliver
                </Button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {deliveries.data.count > rows.length ? <p className="muted small">The newest {rows.length} of {deliveries.data.count.toLocaleString()} deliveries.</p> : null}
    </div>
  );
}

/** The project's webhooks (owners only; hidden for every other role). */
export function WebhooksCard({ project }: { project: Project }) {
  const allowed = can(project, 'manageWebhooks');
  const webhooks = useWebhooks(allowed ? project.id : 0);
  const update = useUpdateWebhook(project.id);
  const remove = useDeleteWebhook(project.id);
  const test = useTestWebhook(project.id);
  const rotate = useRotateWebhookSecret(project.id);
  const notify = useToast();
  const [created, setCreated] = useState<WebhookCreated | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [deleting, setDeleting] = useState<Webhook | null>(null);
  if (!allowed) return null;
  const rows = webhooks.data?.data ?? [];
  const failed = (error: unknown) => notify(errorMessage(error), 'error');

  return (
    <Card title="Webhooks" actions={<span className="muted small">Signed POSTs to your URLs when things happen in this project.</span>}>
      <div className="stack">
        {created ? <SecretOnce created={created} onDismiss={() => setCreated(null)} /> : null}
        {webhooks.isPending ? (
          <Loading />
        ) : webhooks.error ? (
          <ErrorMessage error={webhooks.error} title="Could not load the webhooks" />
        ) : !rows.length ? (
          <EmptyState title="No webhooks yet">Add a URL below to be told about new labels, models and finished jobs.</EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="table" data-testid="webhooks-table">
              <thead>
                <tr>
                  <th>URL</th>
                  <th>Events</th>
                  <th>Secret</th>
                  <th>State</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {rows.map((webhook) => (
                  <Fragment key={webhook.id}>
                    <tr data-testid="webhook-row">
                      <td className="small" style={{ wordBreak: 'break-all' }}>
                        {webhook.url}
                      </td>
                      <td className="small">{webhook.events.join(', ')}</td>
                      <td>
                        <code className="small">{webhook.secret_hint}</code>
                      </td>
                      <td>
                        <Badge tone={webhook.active ? 'success' : 'neutral'}>{webhook.active ? 'enabled' : 'disabled'}</Badge>
                      </td>
                      <td className="row-end">
                        <Button
                          size="sm"
                          variant="ghost"
                          aria-label={`${webhook.active ? 'Disable' : 'Enable'} ${webhook.url}`}
                          onClick={() => update.mutate({ webhookId: webhook.id, body: { active: !webhook.active } }, { onError: failed })}
                        >
                          {webhook.active ? 'Disable' : 'Enable'}
                        </Button>
                        <Button
                          size="sm"
                          aria-label={`Send a test to ${webhook.url}`}
                          busy={test.isPending && test.variables === webhook.id}
                          onClick={() =>
                            test.mutate(webhook.id, {
                              onSuccess: () => {
                                setOpen(webhook.id);
                                notify('Test delivery sent', 'success');
                              },
                              onError: failed,
                            })
                          }
                        >
                          Send test
                        </Button>
                        <Button size="sm" variant="ghost" aria-expanded={open === webhook.id} aria-label={`Deliveries of ${webhook.url}`} onClick={() => setOpen(open === webhook.id ? null : webhook.id)}>
                          Deliveries
                        </Button>
                        <Button
                          size="sm"
                          variant="ghost"
                          aria-label={`Rotate the secret of ${webhook.url}`}
                          busy={rotate.isPending && rotate.variables === webhook.id}
                          onClick={() => rotate.mutate(webhook.id, { onSuccess: setCreated, onError: failed })}
                        >
                          Rotate secret
                        </Button>
                        <Button size="sm" variant="danger" aria-label={`Delete ${webhook.url}`} onClick={() => setDeleting(webhook)}>
                          Delete
                        </Button>
                      </td>
                    </tr>
                    {open === webhook.id ? (
                      <tr>
                        <td colSpan={5}>
                          <DeliveryLog project={project} webhook={webhook} />
                        </td>
                      </tr>
                    ) : null}
                  </Fragment>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <AddWebhookForm project={project} onCreated={setCreated} />
      </div>
      {deleting && (
        <ConfirmDialog
          title="Delete this webhook?"
          confirmLabel="Delete webhook"
          busy={remove.isPending}
          onCancel={() => setDeleting(null)}
          onConfirm={() =>
            remove.mutate(deleting.id, {
              onSuccess: () => {
                notify('Webhook deleted', 'success');
                setDeleting(null);
                if (open === deleting.id) setOpen(null);
              },
              onError: failed,
            })
          }
        >
          Nothing more is sent to {deleting.url}, and its delivery log goes with it.
        </ConfirmDialog>
      )}
    </Card>
  );
}
