'use client';
import Link from 'next/link';
import { useMutation } from '@tanstack/react-query';
import { authorizedFetch, downloadFile } from '@/lib/api/client';
import { ApiError, errorMessage } from '@/lib/api/errors';
import { useJobs, useModels, useProjectStatus } from '@/lib/api/queries';
import type { ModelVersion, Project } from '@/lib/api/types';
import { headline, parseMetrics, percent } from '@/lib/metrics';
import { projectHref } from '@/lib/use-project-id';
import { ConfusionMatrix } from './charts/confusion-matrix';
import { LearningCurve } from './charts/learning-curve';
import { PrecisionRecallBars } from './charts/precision-recall-bars';
import { JobList } from './job-list';
import { ErrorMessage } from './ui/alert';
import { Button } from './ui/button';
import { Badge, Card, EmptyState, PageHeader, ProgressBar, Stat } from './ui/misc';
import { Loading } from './ui/spinner';
import { useToast } from './ui/toast';

const NO_MODEL = 'No model exists yet. One trains automatically after the first few labels.';

export function ModelTable({ project, models }: { project: Project; models: ModelVersion[] }) {
  const notify = useToast();
  if (!models.length) return <EmptyState title="No model yet">{NO_MODEL}</EmptyState>;
  return (
    <div className="table-wrap">
      <table className="table" data-testid="model-table">
        <thead>
          <tr>
            <th>Version</th>
            <th>Kind</th>
            <th>Backbone</th>
            <th className="num">Labels</th>
            <th className="num">Metric</th>
            <th>Status</th>
            <th>Created</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {[...models]
            .sort((a, b) => b.version - a.version)
            .map((model) => {
              const metric = headline(model.metrics);
              return (
                <tr key={model.version}>
                  <td>
                    v{model.version} {model.active && <Badge tone="success">active</Badge>}
                  </td>
                  <td>{model.kind === 'finetuned' ? 'Fine-tuned' : 'Head'}</td>
                  <td className="muted">{model.backbone}</td>
                  <td className="num">{model.label_count}</td>
                  <td className="num" title={metric?.name}>
                    {metric ? percent(metric.value, 1) : '—'}
                  </td>
                  <td>
                    {model.status}
                    {model.device ? <span className="muted small"> · {model.device}</span> : null}
                  </td>
                  <td className="muted small">{new Date(model.created_at).toLocaleString()}</td>
                  <td>
                    <Button
                      size="sm"
                      variant="ghost"
                      onClick={() =>
                        downloadFile(`/projects/${project.id}/models/${model.version}/download`, `${project.name}-model-v${model.version}.zip`).catch((error: unknown) =>
                          notify(errorMessage(error), 'error'),
                        )
                      }
                    >
                      Download
                    </Button>
                  </td>
                </tr>
              );
            })}
        </tbody>
      </table>
    </div>
  );
}

export function Dashboard({ project }: { project: Project }) {
  const status = useProjectStatus(project.id);
  const training = status.data?.training ?? false;
  const models = useModels(project.id, training);
  const jobs = useJobs(project.id);
  const notify = useToast();
  const finetune = useMutation({
    // POST /finetune is not in the OpenAPI schema yet.
    mutationFn: () => authorizedFetch(`/projects/${project.id}/finetune`, { method: 'POST' }),
    onSuccess: () => {
      notify('Fine-tuning started', 'success');
      void jobs.refetch();
      void status.refetch();
    },
    onError: (error) =>
      notify(error instanceof ApiError && (error.status === 404 || error.status === 405) ? 'Fine-tuning is not available on this server.' : errorMessage(error), 'error'),
  });

  if (status.isPending) return <Loading />;
  if (status.error) return <ErrorMessage error={status.error} title="Could not load the project status" />;
  const s = status.data;
  const metrics = parseMetrics(s.metrics);
  const metric = headline(s.metrics);
  const curve = (models.data?.data ?? [])
    .map((model) => ({ model, metric: headline(model.metrics) }))
    .filter((entry) => entry.metric)
    .map(({ model, metric: m }) => ({ x: model.label_count, y: m!.value, label: `v${model.version}`, highlight: model.active, filled: model.kind === 'finetuned' }));

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
      <div className="stats-row">
        <Card>
          <Stat label="Items" value={s.items_total.toLocaleString()} sub={s.items_ready < s.items_total ? `${s.items_ready.toLocaleString()} ready, the rest processing` : 'all ready'} />
        </Card>
        <Card>
          <Stat label="Labeled" value={<span data-testid="labeled-count">{s.labeled.toLocaleString()}</span>} sub={s.items_total ? percent(s.labeled / s.items_total) + ' of items' : undefined} />
        </Card>
        <Card>
          <Stat label="Unlabeled" value={s.unlabeled.toLocaleString()} />
        </Card>
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
            training ? (
              <Badge tone="accent">Training…</Badge>
            ) : s.model_version != null ? (
              s.labels_in_model != null && s.labels_in_model < s.labeled ? (
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
            {training && (
              <div className="stack-sm">
                <ProgressBar value={s.training_progress?.progress ?? 0} label="Training progress" />
                <span className="muted small">{s.training_progress?.message || 'Training on the latest labels…'}</span>
              </div>
            )}
            {s.model_version == null ? (
              <p className="muted" data-testid="no-model">
                {NO_MODEL}
              </p>
            ) : (
              <div className="grid-3">
                <Stat label="Active version" value={`v${s.model_version}`} sub={s.labels_in_model != null ? `trained on ${s.labels_in_model} labels` : undefined} />
                <Stat label={metric?.name ?? 'Metric'} value={metric ? percent(metric.value, 1) : '—'} sub={metrics?.cvFolds ? `${metrics.cvFolds}-fold cross-validated` : undefined} />
                <Stat label="Macro F1" value={percent(metrics?.macroF1, 1)} />
              </div>
            )}
            {project.role === 'owner' && (
              <div className="row">
                <Button onClick={() => finetune.mutate()} busy={finetune.isPending} disabled={!s.labeled}>
                  Fine-tune the backbone
                </Button>
                <span className="muted small">Minutes, on a GPU when a worker has one. Becomes active only if it scores better.</span>
              </div>
            )}
          </div>
        </Card>
        <Card title="Learning curve" actions={<span className="muted small">{metric?.name ?? 'metric'} vs labels</span>}>
          {curve.length ? <LearningCurve points={curve} yLabel={metric?.name} /> : <p className="muted">{NO_MODEL}</p>}
        </Card>
      </div>

      <div className="grid-2">
        <Card title={metrics?.kind === 'multi' ? 'Precision and recall per label' : 'Confusion matrix'}>
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
