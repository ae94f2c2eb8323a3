import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ActivityEntry, Project } from '@/lib/api/types';
import { ToastProvider } from '@/components/ui/toast';
import { ActivityLog } from './activity-list';
import { describeActivity } from './describe';

const entry = (id: number, action: string, details: Record<string, unknown>, extra: Partial<ActivityEntry> = {}): ActivityEntry => ({
  id,
  action,
  actor_id: 1,
  actor_name: 'ann',
  target_type: 'item',
  target_id: 12,
  details,
  created_at: '2026-12-01T09:00:00Z',
  ...extra,
});

describe('describeActivity', () => {
  it('says what each kind of change did', () => {
    expect(describeActivity(entry(1, 'annotation_created', { labels: ['cat'], source: 'human' }))).toBe('labeled item #12 as cat');
    expect(describeActivity(entry(1, 'annotation_changed', { old: ['cat'], new: ['dog'] }))).toBe('changed item #12 from cat to dog');
    expect(describeActivity(entry(1, 'annotation_deleted', { labels: ['cat'] }))).toBe('undid their label of item #12 (cat)');
    expect(describeActivity(entry(1, 'dataset_renamed', { old: 'a', new: 'b' }))).toBe('renamed the dataset “a” to “b”');
    expect(describeActivity(entry(1, 'items_uploaded', { created: 1200, duplicates: 3, labeled: 0, errors: 1, dataset: 'default' }))).toBe(
      'uploaded 1,200 new items to “default”: 3 duplicates skipped, 0 labels imported, 1 problems',
    );
    expect(describeActivity(entry(1, 'member_role_changed', { email: 'b@x.org', old: 'annotator', new: 'reviewer' }))).toBe('changed the role of b@x.org from annotator to reviewer');
    expect(describeActivity(entry(1, 'settings_changed', { lease_seconds: { old: 600, new: 900 }, labels: { old: ['a'], new: ['a', 'b'] } }))).toBe(
      'changed the settings: lease seconds 600 → 900; labels a → a, b',
    );
    expect(describeActivity(entry(1, 'model_activated', { kind: 'head', label_count: 40 }, { target_id: 3, actor_id: null }))).toBe('activated model v3 (head, 40 labels)');
    expect(describeActivity(entry(1, 'resolution_made', { labels: ['positive'], was: 'tie' }, { target_type: 'item', target_id: 5 }))).toBe('resolved item #5 as positive (it was tie)');
    expect(describeActivity(entry(1, 'invitation_sent', { email: 'b@example.com', role: 'reviewer' }))).toBe('invited b@example.com as reviewer');
    expect(describeActivity(entry(1, 'webhook_added', {}, { target_type: 'webhook', target_id: 5 }))).toBe('webhook added webhook #5'); // a kind added later
  });
});

describe('ActivityLog', () => {
  let urls: string[];
  beforeEach(() => {
    urls = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: Request | string, init?: RequestInit) => {
        const request = input instanceof Request ? input : new Request(input, init);
        const url = new URL(request.url);
        urls.push(url.pathname + url.search);
        const body = url.pathname.endsWith('/members')
          ? { data: [{ user_id: 1, email: 'ann@x.org', name: 'ann', role: 'owner' }], count: 1 }
          : url.searchParams.get('before')
            ? { data: [entry(1, 'dataset_created', { name: '<b>old</b>' }, { target_type: 'dataset' })], next_cursor: null }
            : { data: [entry(3, 'guidelines_changed', {}), entry(2, 'model_activated', { kind: 'head', label_count: 8 }, { actor_id: null, actor_name: null, target_id: 1 })], next_cursor: 2 };
        return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
      }),
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  it('pages back with the cursor and filters by action and member', async () => {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <ToastProvider>
          <ActivityLog project={{ id: 7, name: 'P', role: 'viewer' } as Project} />
        </ToastProvider>
      </QueryClientProvider>,
    );
    expect(await screen.findByText('updated the labeling guidelines')).toBeInTheDocument();
    expect(screen.getByText('Filament')).toBeInTheDocument(); // the worker
    fireEvent.click(screen.getByRole('button', { name: 'Load older' }));
    expect(await screen.findByText('created the dataset “<b>old</b>”')).toBeInTheDocument(); // text, not HTML
    expect(urls).toContain('/api/v1/projects/7/activity?limit=50&before=2');
    expect(screen.queryByRole('button', { name: 'Load older' })).toBeNull(); // the last page
    expect(screen.getAllByRole('listitem')).toHaveLength(3);
    fireEvent.change(screen.getByLabelText('Action'), { target: { value: 'model_activated' } });
    await vi.waitFor(() => expect(urls).toContain('/api/v1/projects/7/activity?action=model_activated&limit=50'));
    await screen.findByRole('option', { name: 'ann' });
    fireEvent.change(screen.getByLabelText('Member'), { target: { value: '1' } });
    await vi.waitFor(() => expect(urls).toContain('/api/v1/projects/7/activity?action=model_activated&actor=1&limit=50'));
  });
});
