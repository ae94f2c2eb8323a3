'use client';
import type { Job } from '@/lib/api/types';
import { isJobActive } from '@/lib/api/queries';
import { formatEta, formatRate } from '@/lib/time';
import { Badge, ProgressBar } from './ui/misc';

const JOB_TITLES: Record<string, string> = {
  ingest: 'Reading uploaded files',
  embed: 'Computing embeddings',
  train: 'Training model',
  train_head: 'Training model',
  'train-head': 'Training model',
  finetune: 'Fine-tuning the backbone',
  build_archive: 'Building the model archive',
  score: 'Scoring items',
};

export function jobTitle(type: string): string {
  return JOB_TITLES[type] ?? type.replace(/[_-]/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

const STATUS_TONE = { queued: 'neutral', running: 'accent', done: 'success', failed: 'danger', cancelled: 'warning' } as const;

/** Numbers in a job's result, as "added 180 · skipped 2". */
function resultSummary(result: Record<string, unknown> | null | undefined): string {
  if (!result) return '';
  return Object.entries(result)
    .filter(([, value]) => typeof value === 'number' || typeof value === 'string')
    .slice(0, 5)
    .map(([key, value]) => `${key.replace(/_/g, ' ')} ${typeof value === 'number' ? value.toLocaleString() : value}`)
    .join(' · ');
}

function fileErrors(errors: Job['errors']): { name: string; error: string }[] {
  return (errors ?? []).map((entry) => {
    const record = entry as Record<string, unknown>;
    const name = String(record.name ?? record.file ?? '');
    const error = String(record.error ?? record.detail ?? record.message ?? 'could not be read');
    // jobs ingested before the server dropped it still carry the name in front: shown once
    return { name, error: name && error.startsWith(`${name}: `) ? error.slice(name.length + 2) : error };
  });
}

/** A running job's pace, as "42 items/s · about 20 s left"; '' until the API has measured one. */
export function jobPace(job: Pick<Job, 'status' | 'rate_per_second' | 'eta_seconds' | 'result'>): string {
  if (job.status !== 'running') return '';
  const unit = typeof job.result?.unit === 'string' ? job.result.unit : 'items';
  return [formatRate(job.rate_per_second, unit), formatEta(job.eta_seconds)].filter(Boolean).join(' · ');
}

/** What an ended job warns about (a CSV with only its header added nothing). */
function resultWarnings(result: Record<string, unknown> | null | undefined): string[] {
  const warnings = result?.warnings;
  return Array.isArray(warnings) ? warnings.map(String) : [];
}

export function JobRow({ job }: { job: Job }) {
  const errors = fileErrors(job.errors);
  const result = job.result as Record<string, unknown>;
  // a running job's result holds its counts (done, total, unit): its bar and pace tell those
  const summary = isJobActive(job) ? '' : resultSummary(result);
  const warnings = resultWarnings(result);
  const pace = jobPace(job);
  return (
    <li className="job-row" data-testid={`job-${job.type}`} data-status={job.status}>
      <div className="job-head">
        <strong>{jobTitle(job.type)}</strong>
        <Badge tone={STATUS_TONE[job.status] ?? 'neutral'}>{job.status}</Badge>
        {job.device && <span className="muted small">on {job.device}</span>}
        <span className="spacer" />
        <span className="muted small tabular">{isJobActive(job) ? `${Math.round(job.progress * 100)}%` : new Date(job.created_at).toLocaleTimeString()}</span>
      </div>
      {isJobActive(job) && <ProgressBar value={job.status === 'queued' ? 0 : job.progress} label={jobTitle(job.type)} />}
      {(job.message || summary || pace) && (
        <div className="muted small">
          {job.message || summary}
          {pace && (
            <span className="tabular" data-testid="job-pace">
              {job.message || summary ? ' · ' : ''}
              {pace}
            </span>
          )}
        </div>
      )}
      {warnings.length > 0 && (
        <ul className="error-list" aria-label="Warnings">
          {warnings.map((warning) => (
            <li key={warning}>{warning}</li>
          ))}
        </ul>
      )}
      {errors.length > 0 && (
        <ul className="error-list" aria-label="Files that could not be used">
          {errors.slice(0, 50).map((entry, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: one file may fail twice; the list is replaced whole, never reordered
            <li key={`${entry.name}-${index}`}>
              {entry.name ? <strong>{entry.name}</strong> : null}
              {entry.name ? ': ' : ''}
              {entry.error}
            </li>
          ))}
          {errors.length > 50 && <li>…and {errors.length - 50} more</li>}
        </ul>
      )}
    </li>
  );
}

export function JobList({ jobs }: { jobs: Job[] }) {
  return (
    <ul className="plain-list">
      {jobs.map((job) => (
        <JobRow key={job.id} job={job} />
      ))}
    </ul>
  );
}
