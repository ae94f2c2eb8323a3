'use client';
import { useModels, useProjectStatus } from '@/lib/api/queries';
import type { Project } from '@/lib/api/types';
import { ModelTable } from '@/features/models/model-table';
import { SettingsForm } from './settings-form';
import { WebhooksCard } from './webhooks-card';
import { ExportCard } from './export-card';
import { GuidelinesCard } from '@/features/guidelines/guidelines-editor';
import { TryModel } from '@/features/models/try-model';
import { Card, PageHeader } from '@/components/ui/misc';

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
