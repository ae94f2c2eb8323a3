'use client';
import { useState } from 'react';
import { errorMessage } from '@/lib/api/errors';
import { type ArchiveChoice, useModelDownload, type Pending } from '@/lib/api/queries';
import type { ModelVersion, Project } from '@/lib/api/types';
import { can } from '@/lib/permissions';
import { percent, supportedHeadline } from '@/lib/metrics';
import { Button } from '@/components/ui/button';
import { Badge, EmptyState } from '@/components/ui/misc';
import { Spinner } from '@/components/ui/spinner';
import { useToast } from '@/components/ui/toast';

export const NO_MODEL = 'No model exists yet. One trains automatically after the first few labels.';

/** "GPU" for a CUDA device or the gpu queue, "CPU" otherwise; null when unknown. */
export function deviceName(device: string | null | undefined): string | null {
  if (!device) return null;
  return /^(gpu|cuda)/i.test(device) ? 'GPU' : /^cpu/i.test(device) ? 'CPU' : device;
}

/** The button's words while it works: the build's progress once the server says it builds. */
export function downloadLabel(pending: Pending | null): string {
  if (!pending) return 'Downloading…';
  return `Preparing the archive… ${Math.round(pending.progress * 100)}%`;
}

/** The formats a model archive can be had in; ONNX first, the default. */
export const ARCHIVE_CHOICES: { value: ArchiveChoice; label: string; title: string }[] = [
  { value: 'onnx', label: 'ONNX', title: 'ONNX model and predict.py (needs onnxruntime and numpy only)' },
  {
    value: 'onnx-int8',
    label: 'ONNX int8',
    title: 'About 4× smaller ONNX model; offered only when its accuracy on the labeled items stays within 1 point of the full model (the server says why otherwise)',
  },
  { value: 'torchscript', label: 'TorchScript', title: 'TorchScript model and predict.py (needs torch)' },
  { value: 'safetensors', label: 'safetensors', title: 'PyTorch weights and a predict.py that rebuilds the network (torch, safetensors)' },
  { value: 'all', label: 'All formats', title: 'ONNX, TorchScript and safetensors in one archive (about 3× the size)' },
];

/**
 * Downloads a model archive in the chosen format. The first download of a version and format has a
 * worker build it (10–60 s): the server answers 202 meanwhile, and the button shows the build's progress.
 */
export function ModelDownloadButton({ project, version }: { project: Project; version: number }) {
  const notify = useToast();
  const archive = useModelDownload(project);
  const busy = archive.isPending;
  const [pending, setPending] = useState<Pending | null>(null);
  const [choice, setChoice] = useState<ArchiveChoice>('onnx');
  const chosen = ARCHIVE_CHOICES.find((c) => c.value === choice) ?? ARCHIVE_CHOICES[0];
  // through the promise: a build takes up to a minute, and its failure is told even if the page was left
  const download = () =>
    archive
      .mutateAsync({ version, choice, onPending: setPending })
      .catch((error: unknown) => notify(`Model v${version} (${chosen.label}): ${errorMessage(error)}`, 'error'))
      .finally(() => setPending(null));
  return (
    <span className="row" style={{ gap: 4, justifyContent: 'flex-end' }}>
      <select
        className="input correct-select"
        aria-label={`Format of model v${version}`}
        title={chosen.title}
        value={choice}
        disabled={busy}
        onChange={(e) => setChoice(e.target.value as ArchiveChoice)}
        data-testid={`download-format-${version}`}
      >
        {ARCHIVE_CHOICES.map((c) => (
          <option key={c.value} value={c.value} title={c.title}>
            {c.label}
          </option>
        ))}
      </select>
      <Button
        size="sm"
        variant="ghost"
        onClick={() => void download()}
        disabled={busy}
        aria-busy={busy || undefined}
        aria-label={`Download model v${version}`}
        title={chosen.title}
        data-testid={`download-model-${version}`}
      >
        {busy && <Spinner size={12} />}
        {busy ? downloadLabel(pending) : 'Download'}
      </Button>
    </span>
  );
}

function StatusBadge({ model }: { model: ModelVersion }) {
  if (model.active) return <Badge tone="success">active</Badge>;
  if (model.status === 'rejected')
    return (
      <Badge tone="warning" title="Validated worse than the model that was active then; kept, not used">
        rejected
      </Badge>
    );
  return <Badge>{model.status}</Badge>;
}

/** Versions the table shows before "Show all": a head retrains every few labels, so a project
 * soon has dozens, and the newest ones (and the active one) are what people look for. */
export const RECENT_VERSIONS = 5;

/** The newest `RECENT_VERSIONS` versions, newest first, plus the active one wherever it is. */
export function recentVersions(models: ModelVersion[], limit = RECENT_VERSIONS): ModelVersion[] {
  const sorted = [...models].sort((a, b) => b.version - a.version);
  const shown = sorted.slice(0, limit);
  const active = sorted.find((model) => model.active);
  if (active && !shown.includes(active)) shown.push(active);
  return shown;
}

export function ModelTable({ project, models }: { project: Project; models: ModelVersion[] }) {
  const [all, setAll] = useState(false);
  if (!models.length) return <EmptyState title="No model yet">{NO_MODEL}</EmptyState>;
  const rows = all ? [...models].sort((a, b) => b.version - a.version) : recentVersions(models);
  const hidden = models.length - rows.length;
  return (
    <div className="table-wrap">
      <table className="table" data-testid="model-table">
        <thead>
          <tr>
            <th>Version</th>
            <th>Kind</th>
            <th>Status</th>
            <th>Device</th>
            <th>Base</th>
            <th className="num">Metric</th>
            <th className="num">Labels</th>
            <th>Created</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((model) => {
            const metric = supportedHeadline(model.metrics, model.label_count);
            const raw = (model.metrics ?? {}) as Record<string, unknown>;
            const holdout = raw.validation === 'holdout';
            const baseline = typeof raw.head_baseline === 'number' ? `; the frozen-backbone head on the same items: ${percent(raw.head_baseline, 1)}` : '';
            return (
              <tr key={model.version} data-testid={`model-row-${model.version}`} data-kind={model.kind} data-status={model.active ? 'active' : model.status}>
                <td>
                  <strong>v{model.version}</strong>
                </td>
                <td title={model.backbone}>{model.kind === 'finetuned' ? 'Fine-tuned' : 'Head'}</td>
                <td>
                  <StatusBadge model={model} />
                </td>
                <td className="muted">{deviceName(model.device) ?? '—'}</td>
                <td className="muted" title={model.base_version != null ? `A head on the embeddings of fine-tuned v${model.base_version}` : `The pretrained ${model.backbone}`}>
                  {model.base_version != null ? `v${model.base_version}` : 'pretrained'}
                </td>
                <td
                  className="num"
                  title={metric ? (metric.value != null ? `${metric.name}, ${holdout ? 'held-out split' : 'cross-validated'}, on ${metric.support} labels${baseline}` : `${metric.support} labels; a figure needs ${metric.minSupport}`) : undefined}
                >
                  {metric?.value != null ? percent(metric.value, 1) : '—'}
                </td>
                <td className="num">{model.label_count.toLocaleString()}</td>
                <td className="muted small">{new Date(model.created_at).toLocaleString()}</td>
                <td>{can(project, 'downloadModels') && <ModelDownloadButton project={project} version={model.version} />}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {(hidden > 0 || all) && models.length > RECENT_VERSIONS && (
        <div className="row" style={{ marginTop: 8 }}>
          <Button size="sm" variant="ghost" onClick={() => setAll((shown) => !shown)} aria-expanded={all}>
            {all ? `Show the last ${RECENT_VERSIONS}` : `Show all ${models.length} versions`}
          </Button>
        </div>
      )}
    </div>
  );
}
