'use client';
import { errorMessage } from '@/lib/api/errors';
import { useState } from 'react';
import { type ExportContent, useExport, useModels, useProjectStatus } from '@/lib/api/queries';
import type { Project } from '@/lib/api/types';
import { ModelTable } from '@/features/models/model-table';
import { SettingsForm } from './settings-form';
import { WebhooksCard } from './webhooks-card';
import { GuidelinesCard } from '@/features/guidelines/guidelines-editor';
import { TryModel } from '@/features/models/try-model';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Card, PageHeader } from '@/components/ui/misc';

function ExportCard({ project }: { project: Project }) {
  const exporting = useExport(project);
  const [annotators, setAnnotators] = useState(false);
  const download = (format: 'csv' | 'jsonl', content: ExportContent = 'labels') => exporting.mutate({ format, content, annotators: content === 'items' && annotators });
  const busy = exporting.isPending ? `${exporting.variables.content}-${exporting.variables.format}` : null;
  const error = exporting.error;
  return (
    <Card title="Export labels and predictions">
      <div className="stack-sm">
        <p className="muted">One row per annotation: item, text or file name, labels, annotator, source (human, suggestion, import).</p>
        <div className="row">
          <Button onClick={() => download('csv')} busy={busy === 'labels-csv'}>
            Download CSV
          </Button>
          <Button onClick={() => download('jsonl')} busy={busy === 'labels-jsonl'}>
            Download JSONL
          </Button>
        </div>
        <p className="muted">
          The model&apos;s predictions for every item: predicted labels, confidence, the probability of each label and the model version — to let the model label the rest.
        </p>
        <div className="row">
          <Button onClick={() => download('csv', 'predictions')} busy={busy === 'predictions-csv'}>
            Predictions CSV
          </Button>
          <Button onClick={() => download('jsonl', 'predictions')} busy={busy === 'predictions-jsonl'}>
            Predictions JSONL
          </Button>
        </div>
        <p className="muted">
          One row per labeled item with its final label — a reviewer&apos;s resolution, the only annotation, or the annotators&apos; majority — how it was decided (single, majority, review, suggestion, tie) and the share of
          annotators who agree with it.
        </p>
        <label className="row small">
          <input type="checkbox" checked={annotators} onChange={(e) => setAnnotators(e.target.checked)} /> With every annotator&apos;s labels (a column per annotator)
        </label>
        <div className="row">
          <Button onClick={() => download('csv', 'items')} busy={busy === 'items-csv'}>
            Final labels CSV
          </Button>
          <Button onClick={() => download('jsonl', 'items')} busy={busy === 'items-jsonl'}>
            Final labels JSONL
          </Button>
        </div>
        {error ? <ErrorMessage error={new Error(errorMessage(error))} /> : null}
      </div>
    </Card>
  );
}

export function SettingsPage({ project }: { project: Project }) {
  const status = useProjectStatus(project.id, { refetchInterval: false });
  const models = useModels(project.id);
  return (
    <div className="stack-lg">
      <PageHeader title="Settings & export" description="Project settings, downloads of labels and models, and a quick way to try the model." />
      <div className="grid-2" style={{ alignItems: 'start' }}>
        <SettingsForm project={project} />
        <div className="stack-lg">
          <ExportCard project={project} />
          <Card title="Try the model">
            {status.data && status.data.model_version == null ? <p className="muted">No model exists yet. Label a few items and one trains automatically.</p> : <TryModel project={project} />}
          </Card>
        </div>
      </div>
      <GuidelinesCard project={project} />
      <WebhooksCard project={project} />
      <Card title="Model archives">
        <ModelTable project={project} models={models.data?.data ?? []} />
      </Card>
    </div>
  );
}
