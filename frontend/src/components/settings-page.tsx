'use client';
import { useState } from 'react';
import { downloadFile } from '@/lib/api/client';
import { errorMessage } from '@/lib/api/errors';
import { useModels, useProjectStatus } from '@/lib/api/queries';
import type { Project } from '@/lib/api/types';
import { ModelTable } from './model-table';
import { SettingsForm } from './settings-form';
import { TryModel } from './try-model';
import { ErrorMessage } from './ui/alert';
import { Button } from './ui/button';
import { Card, PageHeader } from './ui/misc';

function ExportCard({ project }: { project: Project }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const download = async (format: 'csv' | 'jsonl') => {
    setBusy(format);
    setError(null);
    try {
      await downloadFile(`/projects/${project.id}/export?format=${format}`, `${project.name}-labels.${format}`);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(null);
    }
  };
  return (
    <Card title="Export labels">
      <div className="stack-sm">
        <p className="muted">One row per annotation: item, text or file name, labels, annotator, source (human, suggestion, import).</p>
        <div className="row">
          <Button onClick={() => void download('csv')} busy={busy === 'csv'}>
            Download CSV
          </Button>
          <Button onClick={() => void download('jsonl')} busy={busy === 'jsonl'}>
            Download JSONL
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
      <Card title="Model archives">
        <ModelTable project={project} models={models.data?.data ?? []} />
      </Card>
    </div>
  );
}
