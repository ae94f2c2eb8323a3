'use client';
import { useState } from 'react';
import { errorMessage } from '@/lib/api/errors';
import { useActivity, useExport, useMembers } from '@/lib/api/queries';
import type { ActivityAction, ActivityEntry, ActivityPage, Project } from '@/lib/api/types';
import { parseTime, timeAgo } from '@/lib/time';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { SelectField } from '@/components/ui/field';
import { Card, EmptyState, PageHeader } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';
import { ACTION_TITLES, describeActivity } from './describe';

/** Entries as a list, newest first: who, what, when. */
export function ActivityEntries({ pages }: { pages: readonly ActivityPage[] }) {
  const entries: ActivityEntry[] = pages.flatMap((page) => page.data);
  if (!entries.length) return <EmptyState title="Nothing recorded yet">Changes to labels, datasets, members, settings, guidelines and models appear here.</EmptyState>;
  return (
    <ol className="activity-list" data-testid="activity-list">
      {entries.map((entry) => (
        <li key={entry.id} className="activity-entry" data-action={entry.action}>
          <span className="badge badge-neutral">{ACTION_TITLES[entry.action as ActivityAction] ?? entry.action}</span>{' '}
          <strong>{entry.actor_name ?? (entry.actor_id == null ? 'Filament' : 'A former user')}</strong> {describeActivity(entry)}
          <time className="muted small" dateTime={entry.created_at} title={parseTime(entry.created_at).toLocaleString()}>
            {' '}
            · {timeAgo(entry.created_at)}
          </time>
        </li>
      ))}
    </ol>
  );
}

/** The project's activity log with filters by action and member, paged ("Load older"). */
export function ActivityLog({ project }: { project: Project }) {
  const [action, setAction] = useState<ActivityAction | ''>('');
  const [actor, setActor] = useState<number | ''>('');
  const members = useMembers(project.id);
  const filters = { action: action || undefined, actor: actor || undefined };
  const log = useActivity(project.id, filters);
  const exporting = useExport(project);
  return (
    <div className="stack-lg">
      <PageHeader
        title="Activity"
        description="Who changed what and when in this project."
        actions={
          <>
            <Button onClick={() => exporting.mutate({ format: 'csv', content: 'activity' })} busy={exporting.isPending && exporting.variables.format === 'csv'}>
              Export CSV
            </Button>
            <Button onClick={() => exporting.mutate({ format: 'jsonl', content: 'activity' })} busy={exporting.isPending && exporting.variables.format === 'jsonl'}>
              Export JSONL
            </Button>
          </>
        }
      />
      {exporting.error ? <ErrorMessage error={new Error(errorMessage(exporting.error))} /> : null}
      <Card>
        <div className="row">
          <SelectField label="Action" value={action} onChange={(event) => setAction(event.target.value as ActivityAction | '')}>
            <option value="">All actions</option>
            {Object.entries(ACTION_TITLES).map(([value, title]) => (
              <option key={value} value={value}>
                {title}
              </option>
            ))}
          </SelectField>
          <SelectField label="Member" value={actor} onChange={(event) => setActor(event.target.value ? Number(event.target.value) : '')}>
            <option value="">Everyone</option>
            {(members.data?.data ?? []).map((member) => (
              <option key={member.user_id} value={member.user_id}>
                {member.name || member.email}
              </option>
            ))}
          </SelectField>
        </div>
        {log.error ? (
          <ErrorMessage error={log.error} title="Could not load the activity" />
        ) : !log.data ? (
          <Loading />
        ) : (
          <div className="stack-sm">
            <ActivityEntries pages={log.data.pages} />
            {log.hasNextPage && (
              <Button onClick={() => void log.fetchNextPage()} busy={log.isFetchingNextPage}>
                Load older
              </Button>
            )}
          </div>
        )}
      </Card>
    </div>
  );
}
