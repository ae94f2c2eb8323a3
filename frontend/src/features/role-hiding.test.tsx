import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ModelVersion, Project, Role } from '@/lib/api/types';
import { DatasetsCard } from '@/features/upload/datasets-card';
import { FinetunePanel } from '@/features/models/finetune-panel';
import { ModelTable } from '@/features/models/model-table';
import { SettingsForm } from '@/features/project/settings-form';
import { WebhooksCard } from '@/features/project/webhooks-card';
import { ToastProvider } from '@/components/ui/toast';

const projectAs = (role: Role) =>
  ({
    id: 3,
    name: 'Reviews',
    task: 'text_classification',
    labels: ['neg', 'pos'],
    role,
    strategy: 'margin',
    suggestion_precision: 0.97,
    annotations_per_item: 1,
    lease_seconds: 600,
    items_total: 40,
    labeled: 30,
  }) as unknown as Project;
const model = { version: 2, kind: 'head', status: 'ready', active: true, backbone: 'minilm', base_version: null, label_count: 30, metrics: {}, device: 'cpu', created_at: '2026-12-01T00:00:00Z' } as unknown as ModelVersion;

const wrap = (children: ReactNode) =>
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <ToastProvider>{children}</ToastProvider>
    </QueryClientProvider>,
  );

describe('what a role cannot do is hidden', () => {
  beforeEach(() => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(JSON.stringify({ data: [{ id: 1, name: 'default', items: 40 }], count: 1 }), { status: 200, headers: { 'Content-Type': 'application/json' } })),
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  it.each(['annotator', 'viewer'] as const)('settings are text, not a form, for an %s', (role) => {
    wrap(<SettingsForm project={projectAs(role)} />);
    expect(screen.queryAllByRole('textbox')).toHaveLength(0);
    expect(screen.queryAllByRole('spinbutton')).toHaveLength(0);
    expect(screen.queryAllByRole('combobox')).toHaveLength(0);
    expect(screen.queryByRole('button', { name: 'Save settings' })).toBeNull();
    expect(screen.getByTestId('settings-summary')).toHaveTextContent('Reviews');
    expect(screen.getByText('Only owners can change settings.')).toBeInTheDocument();
  });

  it('owners get the settings form', () => {
    wrap(<SettingsForm project={projectAs('owner')} />);
    expect(screen.getByLabelText('Name')).toHaveValue('Reviews');
    expect(screen.getByRole('button', { name: 'Save settings' })).toBeEnabled();
  });

  it.each(['annotator', 'viewer'] as const)('no model download, fine-tune or dataset changes for an %s', async (role) => {
    const project = projectAs(role);
    wrap(
      <>
        <ModelTable project={project} models={[model]} />
        <FinetunePanel project={project} latest={undefined} models={[model]} labeled={30} />
        <DatasetsCard project={project} />
        <WebhooksCard project={project} />
      </>,
    );
    expect(await screen.findByText('default')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Add webhook' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Download model v2' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Fine-tune now' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Rename default' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Delete default' })).toBeNull();
  });

  it('owners see all of them', async () => {
    const project = projectAs('owner');
    wrap(
      <>
        <ModelTable project={project} models={[model]} />
        <FinetunePanel project={project} latest={undefined} models={[model]} labeled={30} />
        <DatasetsCard project={project} />
      </>,
    );
    expect(await screen.findByRole('button', { name: 'Rename default' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Download model v2' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Fine-tune now' })).toBeInTheDocument();
  });
});
