// One sentence per activity entry, from its action and details (docs/activity-and-guidelines.md
// lists what each action's details hold).
import type { ActivityAction, ActivityEntry } from '@/lib/api/types';

type Details = Record<string, unknown>;

export const ACTION_TITLES: Record<ActivityAction, string> = {
  annotation_created: 'Labeled',
  annotation_changed: 'Label changed',
  annotation_deleted: 'Label undone',
  dataset_created: 'Dataset created',
  dataset_renamed: 'Dataset renamed',
  dataset_deleted: 'Dataset deleted',
  items_uploaded: 'Upload',
  member_added: 'Member added',
  member_role_changed: 'Role changed',
  member_removed: 'Member removed',
  settings_changed: 'Settings changed',
  guidelines_changed: 'Guidelines changed',
  model_activated: 'Model activated',
  finetune_started: 'Fine-tuning started',
  finetune_cancelled: 'Fine-tuning cancelled',
  finetune_finished: 'Fine-tuning finished',
  resolution_made: 'Conflict resolved',
  resolution_reopened: 'Conflict reopened',
  invitation_sent: 'Invitation sent',
  invitation_revoked: 'Invitation revoked',
  webhook_created: 'Webhook added',
  webhook_deleted: 'Webhook deleted',
};

const text = (value: unknown): string => {
  if (value == null) return '—';
  if (Array.isArray(value)) return value.length ? value.map(String).join(', ') : 'none';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
};
const quoted = (value: unknown) => `“${text(value)}”`;
const count = (value: unknown, noun: string) => `${Number(value ?? 0).toLocaleString()} ${noun}`;

function settings(details: Details): string {
  const parts = Object.entries(details).map(([field, change]) => {
    const { old, new: next } = (change ?? {}) as { old?: unknown; new?: unknown };
    return `${field.replace(/_/g, ' ')} ${text(old)} → ${text(next)}`;
  });
  return parts.length ? parts.join('; ') : 'no field changed';
}

export function describeActivity(entry: ActivityEntry): string {
  const d = entry.details as Details;
  const item = `item #${entry.target_id}`;
  switch (entry.action as ActivityAction) {
    case 'annotation_created':
      return `labeled ${item} as ${text(d.labels)}${d.source === 'suggestion' ? ' (a suggestion)' : ''}`;
    case 'annotation_changed':
      return `changed ${item} from ${text(d.old)} to ${text(d.new)}`;
    case 'annotation_deleted':
      return `undid their label of ${item} (${text(d.labels)})`;
    case 'dataset_created':
      return `created the dataset ${quoted(d.name)}`;
    case 'dataset_renamed':
      return `renamed the dataset ${quoted(d.old)} to ${quoted(d.new)}`;
    case 'dataset_deleted':
      return `deleted the dataset ${quoted(d.name)} with ${count(d.items, 'items')}`;
    case 'items_uploaded':
      return `uploaded ${count(d.created, 'new items')} to ${quoted(d.dataset)}: ${count(d.duplicates, 'duplicates')} skipped, ${count(d.labeled, 'labels')} imported, ${count(d.errors, 'problems')}`;
    case 'member_added':
      return `joined as ${text(d.role)} (${text(d.email)}) by invitation`;
    case 'invitation_sent':
      return `invited ${text(d.email)} as ${text(d.role)}`;
    case 'invitation_revoked':
      return `revoked the invitation of ${text(d.email)}`;
    case 'resolution_made':
      return `resolved ${item} as ${text(d.labels)} (it was ${text(d.was)})`;
    case 'resolution_reopened':
      return `reopened ${item} (the resolution was ${text(d.labels)})`;
    case 'member_role_changed':
      return `changed the role of ${text(d.email ?? `user #${entry.target_id}`)} from ${text(d.old)} to ${text(d.new)}`;
    case 'member_removed':
      return `removed ${text(d.email ?? `user #${entry.target_id}`)} (${text(d.role)})`;
    case 'settings_changed':
      return `changed the settings: ${settings(d)}`;
    case 'guidelines_changed':
      return 'updated the labeling guidelines';
    case 'model_activated':
      return `activated model v${entry.target_id} (${text(d.kind)}, ${count(d.label_count, 'labels')})`;
    case 'finetune_started':
      return `started fine-tuning (job ${entry.target_id}, ${text(d.reason)})`;
    case 'finetune_cancelled':
      return `cancelled fine-tuning (job ${entry.target_id})`;
    case 'finetune_finished':
      return `fine-tuning job ${entry.target_id} ${d.status === 'failed' ? 'failed' : 'finished'}: ${text(d.message)}`;
    case 'webhook_created':
      return `added a webhook to ${text(d.url)} for ${text(d.events)}`;
    case 'webhook_deleted':
      return `deleted the webhook to ${text(d.url)}`;
    default:
      return `${entry.action.replace(/_/g, ' ')}${entry.target_type ? ` ${entry.target_type} #${entry.target_id}` : ''}`;
  }
}
