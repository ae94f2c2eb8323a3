'use client';
import { useEffect, useRef } from 'react';
import { isJobActive, useCancelJob, useInvalidateProject, useJob, useStartFinetune } from '@/lib/api/queries';
import { errorMessage } from '@/lib/api/errors';
import { isMultilabel, type Job, type ModelVersion, type Project } from '@/lib/api/types';
import { headline, percent } from '@/lib/metrics';
import { can } from '@/lib/permissions';
import { deviceName } from './model-table';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Badge, ProgressBar } from '@/components/ui/misc';
import { useToast } from '@/components/ui/toast';

/** Fine-tuning needs this many labeled items (the worker refuses fewer). */
export const MIN_FINETUNE_LABELS = 4;

interface FinetuneResult {
  version?: number;
  activated?: boolean;
  metric?: number | null;
}

/** Where a fine-tuning job runs, in words. */
export function whereItRuns(device: string | null | undefined): string {
  const name = deviceName(device);
  if (name === 'GPU') return 'on a GPU worker';
  if (name === 'CPU') return 'as a short CPU run (no GPU worker is connected)';
  return '';
}

/** The sentence a finished fine-tuning job ends with. */
export function finetuneOutcome(job: Job, project: Project, models: ModelVersion[]): { tone: 'success' | 'warning' | 'error' | 'info'; text: string } | null {
  if (isJobActive(job)) return null;
  if (job.status === 'cancelled') return { tone: 'info', text: 'Fine-tuning was cancelled; the active model is unchanged.' };
  if (job.status === 'failed') return { tone: 'error', text: `Fine-tuning failed: ${job.message || 'no reason given'}. The active model is unchanged.` };
  const result = (job.result ?? {}) as FinetuneResult;
  if (result.version == null) return job.message ? { tone: 'info', text: job.message } : null;
  const metricName = isMultilabel(project.task) ? 'micro F1' : 'accuracy';
  const value = typeof result.metric === 'number' ? percent(result.metric, 1) : '—';
  const current = models.find((m) => m.active);
  if (result.activated) {
    // A head is usually retrained on the new embeddings right after; it then serves predictions.
    const head = current && current.version !== result.version && current.base_version === result.version ? current : null;
    const then = head ? `; v${head.version}, a head on its embeddings, now serves predictions` : '';
    return { tone: 'success', text: `v${result.version} is now active: ${metricName} ${value}${then}` };
  }
  if (typeof result.metric !== 'number') return { tone: 'warning', text: job.message || `v${result.version} was not validated: kept, not used` };
  // What it had to beat, as the worker's gate reads it: against a head on the pretrained
  // backbone, that head's method scored on the same held-out items (`head_baseline`).
  const rejected = models.find((m) => m.version === result.version);
  const baseline = (rejected?.metrics as Record<string, unknown> | undefined)?.head_baseline;
  const currentMetric = current ? headline(current.metrics) : null;
  const against =
    typeof baseline === 'number' && current?.kind === 'head' && current.base_version == null
      ? `, not better than the frozen-backbone head on the same held-out items (${percent(baseline, 1)})`
      : current && currentMetric
        ? `, not better than the active v${current.version} (${percent(currentMetric.value, 1)})`
        : ', not better than the active model';
  return { tone: 'warning', text: `v${result.version} validated ${value}${against} — kept, not used` };
}

/**
 * "Fine-tune now" with the live state of the project's latest fine-tuning job: where it runs,
 * progress with the trainer's message, Cancel, and the outcome.
 */
export function FinetunePanel({ project, latest, models, labeled }: { project: Project; latest: Job | undefined; models: ModelVersion[]; labeled: number }) {
  const notify = useToast();
  const start = useStartFinetune(project.id);
  const cancel = useCancelJob(project.id);
  // The list gives the latest job; this polls that one job every 1.5 s while it runs.
  const watched = useJob(latest?.id);
  const job = watched.data && latest && watched.data.id === latest.id ? watched.data : latest;
  const running = !!job && isJobActive(job);
  const canWrite = can(project, 'finetune');
  const outcome = job ? finetuneOutcome(job, project, models) : null;
  const invalidate = useInvalidateProject();
  const wasRunning = useRef(false);
  // When a run ends, the models, status and predictions have changed: load them once more.
  useEffect(() => {
    if (wasRunning.current && !running) invalidate(project.id);
    wasRunning.current = running;
  }, [running, invalidate, project.id]);

  return (
    <div className="stack-sm" data-testid="finetune-panel">
      {canWrite && !running && (
        <div className="row">
          <Button
            variant="primary"
            onClick={() =>
              start.mutate(undefined, {
                onError: (error) => notify(errorMessage(error), 'error'),
              })
            }
            busy={start.isPending}
            disabled={labeled < MIN_FINETUNE_LABELS}
          >
            Fine-tune now
          </Button>
          <span className="muted small">
            {labeled < MIN_FINETUNE_LABELS
              ? `Needs at least ${MIN_FINETUNE_LABELS} labeled items.`
              : 'Trains the whole backbone on the labels: minutes on a GPU worker, a short run on CPU. The new version becomes active only if it validates better.'}
          </span>
        </div>
      )}
      {!canWrite && !running && <p className="muted small">Only the project's owners can fine-tune the backbone.</p>}
      {job && running && (
        <div className="stack-sm" data-testid="finetune-job" data-status={job.status}>
          <div className="row small">
            <strong>Fine-tuning the backbone</strong>
            <Badge tone="accent">{job.status}</Badge>
            <span className="muted">{whereItRuns(job.device)}</span>
            <span className="spacer" />
            <span className="tabular">{Math.round(job.progress * 100)}%</span>
            {canWrite && (
              <Button size="sm" variant="ghost" onClick={() => cancel.mutate(job.id, { onError: (error) => notify(errorMessage(error), 'error') })} busy={cancel.isPending}>
                Cancel
              </Button>
            )}
          </div>
          <ProgressBar value={job.status === 'queued' ? 0 : job.progress} label="Fine-tuning progress" />
          <span className="muted small" data-testid="finetune-message">
            {job.message || (job.status === 'queued' ? 'Waiting for a worker…' : 'Starting…')}
          </span>
        </div>
      )}
      {outcome && (
        <div data-testid="finetune-outcome" data-status={job?.status}>
          <Alert tone={outcome.tone}>{outcome.text}</Alert>
        </div>
      )}
    </div>
  );
}
