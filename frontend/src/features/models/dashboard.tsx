'use client';
import Link from 'next/link';
import { isJobActive, useJobs, useModels, useProjectStatus } from '@/lib/api/queries';
import type { ModelVersion, Project } from '@/lib/api/types';
import { headline, interval, parseEvidence, parseMetrics, percent } from '@/lib/metrics';
import { can } from '@/lib/permissions';
import { formatEta } from '@/lib/time';
import { projectHref } from '@/lib/use-project-id';
import { ConfusionMatrix } from '@/components/charts/confusion-matrix';
import { LearningCurve } from '@/components/charts/learning-curve';
import { PrecisionRecallBars } from '@/components/charts/precision-recall-bars';
import { AgreementCard } from './agreement-card';
import { AnnotatorsCard } from '@/features/team/annotators-table';
import { FinetunePanel } from './finetune-panel';
import { JobList } from '@/components/job-list';
import { ModelQuality } from './model-quality';
import { ModelTable, NO_MODEL } from './model-table';
import { StopCard } from './stop-card';
import { ErrorMessage } from '@/components/ui/alert';
import { Badge, Card, PageHeader, ProgressBar, Stat } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';

export { ModelTable } from './model-table';

/** "fine-tuned backbone, 40 labels" / "head on fine-tuned v8, 40 labels" / "trained on 40 labels". */
function activeSummary(model: ModelVersion | undefined, labels: number | null): string | undefined {
  const count = labels != null ? `${labels} labels` : null;
  if (!model) return count ? `trained on ${count}` : undefined;
  const kind = model.kind === 'finetuned' ? 'fine-tuned backbone' : model.base_version != null ? `head on fine-tuned v${model.base_version}` : 'head on the pretrained backbone';
  return [kind, count].filter(Boolean).join(', ');
}

export function Dashboard({ project }: { project: Project }) {
  const status = useProjectStatus(project.id);
  const jobs = useJobs(project.id);
  const latestFinetune = jobs.data?.data.find((job) => job.type === 'finetune');
  const finetuning = !!latestFinetune && isJobActive(latestFinetune);
  const training = status.data?.training ?? false;
  const models = useModels(project.id, training || finetuning);
  if (status.isPending) return <Loading />;
  if (status.error) return <ErrorMessage error={status.error} title="Could not load the project status" />;
  const s = status.data;
  // with one annotator per item nothing can disagree: the card shows once it can matter
  const showConflicts = project.annotations_per_item > 1 || s.conflicts > 0 || s.conflicts_resolved > 0;
  // tied items wait for a review, so the model trains on that many fewer labels
  const trainable = s.labeled - s.conflicts_tied;
  const metrics = parseMetrics(s.metrics);
  const metric = headline(s.metrics);
  const evidence = parseEvidence(s.metrics);
  // the figure to trust, with its interval and support; counts only below the minimum support
  const trusted = evidence?.trust === 'audit' ? evidence.audit : evidence?.trust === 'cross_validated' ? evidence.cv : null;
  // one point per model version with a metric
  const curve = (models.data?.data ?? []).flatMap((model) => {
    const m = headline(model.metrics);
    if (!m) return [];
    return [{ x: model.label_count, y: m.value, label: `v${model.version}`, highlight: model.active, finetuned: model.kind === 'finetuned', rejected: model.status === 'rejected' }];
  });

  return (
    <div className="stack-lg">
      <PageHeader
        title="Dashboard"
        description={`${project.labels.length} labels · ${project.backbone} · ${project.strategy.replace('_', ' ')} sampling`}
        actions={
          <>
            <Link className="btn btn-secondary btn-md" href={projectHref('review', project.id)}>
              Review suggestions
            </Link>
            <Link className="btn btn-primary btn-md" href={projectHref('label', project.id)}>
              Label
            </Link>
          </>
        }
      />
      <div className={showConflicts ? 'stats-row stats-row-5' : 'stats-row'}>
        <Card>
          <Stat label="Items" value={s.items_total.toLocaleString()} sub={s.items_ready < s.items_total ? `${s.items_ready.toLocaleString()} ready, the rest processing` : 'all ready'} />
        </Card>
        <Card>
          <Stat label="Labeled" value={<span data-testid="labeled-count">{s.labeled.toLocaleString()}</span>} sub={s.items_total ? `${percent(s.labeled / s.items_total)} of items` : undefined} />
        </Card>
        <Card>
          <Stat label="Unlabeled" value={s.unlabeled.toLocaleString()} />
        </Card>
        {showConflicts && (
          <Card>
            <Stat
              label="Conflicts"
              value={<span data-testid="conflict-count">{s.conflicts.toLocaleString()}</span>}
              sub={
                <span data-testid="conflict-detail">
                  {s.conflicts_tied ? `${s.conflicts_tied.toLocaleString()} tied, out of training · ` : ''}
                  {s.conflicts_resolved.toLocaleString()} resolved
                  {s.conflicts > 0 && can(project, 'review') && (
                    <>
                      {' · '}
                      <Link href={projectHref('conflicts', project.id)}>review</Link>
                    </>
                  )}
                </span>
              }
            />
          </Card>
        )}
        <Card>
          <Stat
            label="Suggested"
            value={s.suggested.toLocaleString()}
            sub={
              s.suggested ? (
                <Link href={projectHref('review', project.id)}>review them</Link>
              ) : (
                'confident model labels'
              )
            }
          />
        </Card>
      </div>

      <div className="grid-2">
        <Card
          title="Model"
          actions={
            finetuning ? (
              <Badge tone="accent">Fine-tuning…</Badge>
            ) : training ? (
              <Badge tone="accent">Training…</Badge>
            ) : s.model_version != null ? (
              s.labels_in_model != null && s.labels_in_model < trainable ? (
                <Badge tone="warning" title="New labels are waiting for the next training run">
                  Catching up
                </Badge>
              ) : (
                <Badge tone="success">Up to date</Badge>
              )
            ) : (
              <Badge>Idle</Badge>
            )
          }
        >
          <div className="stack" data-testid="model-status">
            {training && s.training_progress?.type !== 'finetune' && (
              <div className="stack-sm">
                <ProgressBar value={s.training_progress?.progress ?? 0} label="Training progress" />
                <span className="muted small">
                  {s.training_progress?.message || 'Training on the latest labels…'}
                  {formatEta(s.training_progress?.eta_seconds) && ` · ${formatEta(s.training_progress?.eta_seconds)}`}
                </span>
              </div>
            )}
            {s.model_version == null ? (
              <p className="muted" data-testid="no-model">
                {NO_MODEL}
              </p>
            ) : (
              <div className="grid-3">
                <Stat label="Active version" value={`v${s.model_version}`} sub={activeSummary(models.data?.data.find((m) => m.version === s.model_version), s.labels_in_model)} />
                {evidence ? (
                  <Stat
                    label={`${evidence.name} (${evidence.trust === 'audit' ? 'audited' : 'cross-validated'})`}
                    value={trusted?.primary ? percent(trusted.primary.value, 1) : '—'}
                    sub={trusted?.primary ? `${interval(trusted.primary)} · ${trusted.support} ${evidence.trust === 'audit' ? 'audit labels' : 'labels'}` : `${evidence.cv.support} labels; a figure needs ${evidence.cv.minSupport}`}
                  />
                ) : (
                  <Stat label={metric?.name ?? 'Metric'} value={metric ? percent(metric.value, 1) : '—'} sub={metrics?.cvFolds ? `${metrics.cvFolds}-fold cross-validated` : (s.metrics as Record<string, unknown> | null)?.validation === 'holdout' ? 'on a held-out split' : undefined} />
                )}
                <Stat
                  label="Macro F1"
                  value={evidence ? (trusted?.macroF1 ? percent(trusted.macroF1.value, 1) : '—') : percent(metrics?.macroF1, 1)}
                  sub={evidence && trusted?.macroF1 ? interval(trusted.macroF1) : undefined}
                />
              </div>
            )}
            <FinetunePanel project={project} latest={latestFinetune} models={models.data?.data ?? []} labeled={s.labeled} />
          </div>
        </Card>
        <Card title="Learning curve" actions={<span className="muted small">{evidence ? 'cross-validated ' : ''}{metric?.name ?? 'metric'} vs labels</span>}>
          {curve.length ? <LearningCurve points={curve} yLabel={metric?.name} /> : <p className="muted">{NO_MODEL}</p>}
        </Card>
      </div>

      {evidence && (
        <Card title="How good is the model?" actions={<span className="muted small">95 % intervals; held-out labels only</span>}>
          <ModelQuality evidence={evidence} />
        </Card>
      )}

      {s.model_version != null && <StopCard projectId={project.id} training={training} />}

      <AgreementCard projectId={project.id} training={training} />
      <AnnotatorsCard project={project} />

      <div className="grid-2">
        <Card title={metrics?.kind === 'multi' ? 'Precision and recall per label (cross-validated)' : 'Confusion matrix (cross-validated)'}>
          {!metrics ? (
            <p className="muted">{NO_MODEL}</p>
          ) : metrics.kind === 'single' ? (
            metrics.confusion ? (
              <ConfusionMatrix labels={metrics.labels.length ? metrics.labels : project.labels} matrix={metrics.confusion} />
            ) : (
              <PrecisionRecallBars perLabel={metrics.perClass} labels={metrics.labels} />
            )
          ) : (
            <PrecisionRecallBars perLabel={metrics.perLabel} labels={metrics.labels} />
          )}
        </Card>
        <Card title="Labels per annotator">
          {s.annotators.length ? (
            <table className="table">
              <tbody>
                {[...s.annotators]
                  .sort((a, b) => b.count - a.count)
                  .map((a) => (
                    <tr key={`${a.user_id}-${a.name}`}>
                      <td>{a.name || 'Unknown'}</td>
                      <td style={{ width: '50%' }}>
                        <ProgressBar value={a.count / Math.max(1, ...s.annotators.map((x) => x.count))} label={`${a.name}: ${a.count}`} />
                      </td>
                      <td className="num">{a.count}</td>
                    </tr>
                  ))}
              </tbody>
            </table>
          ) : (
            <p className="muted">No labels yet.</p>
          )}
        </Card>
      </div>

      <Card title="Model versions">
        {models.error ? <ErrorMessage error={models.error} /> : <ModelTable project={project} models={models.data?.data ?? []} />}
      </Card>
      <Card title="Recent jobs">{jobs.data?.data.length ? <JobList jobs={jobs.data.data.slice(0, 8)} /> : <p className="muted">No jobs yet.</p>}</Card>
    </div>
  );
}
