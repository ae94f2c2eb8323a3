'use client';
import Link from 'next/link';
import { useEffect, useRef, useState, type DragEvent } from 'react';
import { errorMessage } from '@/lib/api/errors';
import { useDatasets, useInvalidateProject, useJobs, useProjectStatus } from '@/lib/api/queries';
import { modalityOf, type Project } from '@/lib/api/types';
import { can } from '@/lib/permissions';
import { filesFromDataTransfer, filesFromInput, formatBytes, isJunk, perFileProgress, planBatches, rejectionReason, uploadFiles, type PendingFile } from '@/lib/upload';
import { projectHref } from '@/lib/use-project-id';
import { DatasetsCard } from './datasets-card';
import { JobList } from '@/components/job-list';
import { Button } from '@/components/ui/button';
import { Card, EmptyState, PageHeader, ProgressBar } from '@/components/ui/misc';

type FileState = 'waiting' | 'uploading' | 'uploaded' | 'rejected' | 'failed';

interface Row extends PendingFile {
  key: string;
  state: FileState;
  progress: number;
  error?: string;
  /** uploaded, but it adds nothing (the server's words) */
  warning?: string;
}

const NEW_DATASET = '__new_dataset__';

const STATE_TEXT: Record<FileState, string> = {
  waiting: 'Waiting',
  uploading: 'Uploading',
  uploaded: 'Uploaded',
  rejected: 'Not uploaded',
  failed: 'Failed',
};

/**
 * The datasets an upload can go to: the project's own, by name. "default" only while the
 * project has none (the first upload makes it): offered beside a renamed dataset, it would
 * create a new, empty one.
 */
export function datasetChoices(existing: string[] | undefined): string[] {
  return existing?.length ? existing : ['default'];
}

export function UploadPanel({ project }: { project: Project }) {
  if (can(project, 'manageDatasets')) return <UploadForm project={project} />;
  return (
    <div className="stack-lg">
      <PageHeader title="Upload" description="Uploading items and managing datasets is for the project's owners." />
      <DatasetsCard project={project} />
    </div>
  );
}

function UploadForm({ project }: { project: Project }) {
  const modality = modalityOf(project.task);
  const [rows, setRows] = useState<Row[]>([]);
  const [dragging, setDragging] = useState(false);
  // The upload target as chosen: an existing dataset's name, or NEW_DATASET with a name typed in
  // `newName`; null (or a name that no longer exists, after a rename) means the first real dataset.
  const [chosen, setTarget] = useState<string | null>(null);
  const [newName, setNewName] = useState('');
  const [targetError, setTargetError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const datasets = useDatasets(project.id);
  const status = useProjectStatus(project.id, {
    refetchInterval: (query) => (busy || (query.state.data && query.state.data.items_ready < query.state.data.items_total) ? 1500 : 10_000),
  });
  const processing = !!status.data && status.data.items_ready < status.data.items_total;
  // Ingest is followed by an embed job: keep watching until every item is ready.
  const jobs = useJobs(project.id, busy || processing);
  const invalidate = useInvalidateProject();
  const counter = useRef(0);
  // Datasets count their items as ingest adds them: reload the list when the totals move.
  const itemsTotal = status.data?.items_total;
  const itemsReady = status.data?.items_ready;
  const reloadDatasets = datasets.refetch;
  // biome-ignore lint/correctness/useExhaustiveDependencies: itemsTotal and itemsReady are the triggers: the list reloads whenever either moves
  useEffect(() => {
    if (itemsTotal !== undefined) void reloadDatasets();
  }, [reloadDatasets, itemsTotal, itemsReady]);

  const update = (keys: Set<string>, patch: (row: Row) => Partial<Row>) =>
    setRows((current) => current.map((row) => (keys.has(row.key) ? { ...row, ...patch(row) } : row)));

  const names = datasetChoices(datasets.data?.data.map((d) => d.name));
  const target = chosen === NEW_DATASET || (chosen !== null && names.includes(chosen)) ? chosen : names[0];
  const start = async (files: PendingFile[]) => {
    let dataset = target === NEW_DATASET ? newName.trim() : target;
    if (chosen === null && datasets.isPending) {
      // files dropped before the list arrived: the first real dataset, not a "default" that a
      // rename may have left behind (it would be made anew, empty but for these files)
      const loaded = await reloadDatasets();
      dataset = datasetChoices(loaded.data?.data.map((d) => d.name))[0];
    }
    if (!dataset) {
      setTargetError('Name the new dataset first.');
      return;
    }
    setTargetError(null);
    const fresh: Row[] = files
      .filter((entry) => !isJunk(entry.path))
      .map((entry) => {
        const reason = rejectionReason(entry.file, modality);
        counter.current += 1;
        return { ...entry, key: `${counter.current}:${entry.path}`, state: reason ? 'rejected' : 'waiting', progress: 0, error: reason ?? undefined };
      });
    if (!fresh.length) return;
    setRows((current) => [...fresh, ...current]);
    const accepted = fresh.filter((row) => row.state === 'waiting');
    if (!accepted.length) return;
    setBusy(true);
    for (const batch of planBatches(accepted)) {
      const keys = new Set(batch.map((row) => row.key));
      update(keys, () => ({ state: 'uploading' }));
      const sizes = batch.map((row) => row.file.size);
      const handle = uploadFiles(project.id, batch, dataset, (loaded, total) => {
        const fractions = perFileProgress(sizes, loaded, total);
        setRows((current) =>
          current.map((row) => {
            const index = batch.findIndex((b) => b.key === row.key);
            return index < 0 ? row : { ...row, progress: fractions[index] };
          }),
        );
      });
      try {
        const accepted = await handle.promise;
        const warnings = accepted.warnings ?? [];
        update(keys, (row) => ({ state: 'uploaded', progress: 1, warning: warnings.find((w) => w.startsWith(`${row.file.name}:`)) }));
      } catch (error) {
        update(keys, () => ({ state: 'failed', error: errorMessage(error) }));
      }
      void jobs.refetch();
    }
    setBusy(false);
    invalidate(project.id);
    if (target === NEW_DATASET) {
      setTarget(dataset);
      setNewName('');
    }
  };

  const onDrop = async (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    void start(await filesFromDataTransfer(event.dataTransfer));
  };

  const recent = (jobs.data?.data ?? []).slice(0, 12);
  const uploadedCount = rows.filter((row) => row.state === 'uploaded').length;
  const accept = modality === 'image' ? 'image/*,.zip,.json' : '.csv,.jsonl,.ndjson,.zip,.json';

  return (
    <div className="stack-lg">
      <PageHeader
        title="Upload"
        description={
          modality === 'image'
            ? 'Drop images, folders of images, or .zip archives. Each file becomes an item named by its path. A Label Studio JSON export (or its zip with the images) and a zipped Hugging Face save_to_disk folder come in with their labels.'
            : 'Drop CSV or JSONL files with a "text" column (optional "id" and "label"/"labels" columns; uploaded labels become annotations), a Label Studio JSON export, or a zipped Hugging Face save_to_disk folder.'
        }
        actions={
          (project.items_total > 0 || (status.data?.items_ready ?? 0) > 0) && (
            <Link className="btn btn-primary btn-md" href={projectHref('label', project.id)}>
              Start labeling
            </Link>
          )
        }
      />
      {/* biome-ignore lint/a11y/noStaticElementInteractions: a drop target for dragged files; the buttons inside do the same from the keyboard */}
      <div
        className={`dropzone ${dragging ? 'dropzone-active' : ''}`}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="dropzone"
      >
        <svg width="36" height="36" viewBox="0 0 24 24" fill="none" stroke="var(--accent)" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round" aria-hidden>
          <path d="M12 16V4m0 0-4 4m4-4 4 4" />
          <path d="M4 16v2a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-2" />
        </svg>
        <p className="dropzone-title">Drop {modality === 'image' ? 'images, folders or zips' : 'CSV or JSONL files'} here</p>
        <div className="row">
          <Button variant="primary" onClick={() => fileInput.current?.click()}>
            Choose files
          </Button>
          {modality === 'image' && <Button onClick={() => folderInput.current?.click()}>Choose a folder</Button>}
        </div>
        <div className="row small">
          <label htmlFor="upload-dataset" className="muted">
            Into dataset
          </label>
          <select
            id="upload-dataset"
            className="input"
            style={{ width: 'auto', minWidth: 140, height: 30 }}
            value={target}
            onChange={(e) => {
              setTarget(e.target.value);
              setTargetError(null);
            }}
          >
            {names.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
            <option value={NEW_DATASET}>New dataset…</option>
          </select>
          {target === NEW_DATASET && (
            <input
              className="input"
              style={{ width: 180, height: 30 }}
              aria-label="New dataset name"
              placeholder="e.g. batch 2"
              maxLength={200}
              // biome-ignore lint/a11y/noAutofocus: the field appears because "New dataset…" was just picked; the focus goes where the person types next
              autoFocus
              value={newName}
              onChange={(e) => {
                setNewName(e.target.value);
                setTargetError(null);
              }}
            />
          )}
          {targetError && <span className="field-error">{targetError}</span>}
        </div>
        <input
          ref={fileInput}
          type="file"
          multiple
          accept={accept}
          hidden
          data-testid="file-input"
          onChange={(e) => {
            void start(filesFromInput(e.target.files));
            e.target.value = '';
          }}
        />
        <input
          ref={folderInput}
          type="file"
          multiple
          hidden
          data-testid="folder-input"
          {...({ webkitdirectory: '', directory: '' } as Record<string, string>)}
          onChange={(e) => {
            void start(filesFromInput(e.target.files));
            e.target.value = '';
          }}
        />
      </div>

      {rows.length > 0 && (
        <Card title={`Files (${uploadedCount} of ${rows.length} uploaded)`} actions={!busy && <Button size="sm" variant="ghost" onClick={() => setRows([])}>Clear</Button>}>
          <ul className="file-list" data-testid="file-list">
            {rows.slice(0, 300).map((row) => (
              <li key={row.key} className="file-row" data-state={row.state}>
                <span className="file-name" title={row.path}>
                  {row.path}
                </span>
                <span className="muted small file-size tabular">{formatBytes(row.file.size)}</span>
                {row.state === 'uploading' || row.state === 'waiting' ? (
                  <ProgressBar value={row.progress} label={`Upload of ${row.path}`} />
                ) : (
                  <span className={`small ${row.state === 'uploaded' ? '' : 'field-error'}`}>{STATE_TEXT[row.state]}</span>
                )}
                {row.error && <span className="file-error">{row.error}</span>}
                {row.warning && (
                  <span className="file-error" data-testid="file-warning">
                    {row.warning}
                  </span>
                )}
              </li>
            ))}
          </ul>
          {rows.length > 300 && <p className="muted small">…and {rows.length - 300} more files</p>}
        </Card>
      )}

      <Card title="Processing" actions={<span className="muted small">Uploaded files are read, then embedded; labeling can start as soon as items are ready.</span>}>
        {status.data && status.data.items_total > 0 && (
          <div className="stack-sm" style={{ marginBottom: 8 }} data-testid="items-ready">
            <div className="row small">
              <strong>Items ready to label</strong>
              <span className="spacer" />
              <span className="tabular">
                {status.data.items_ready.toLocaleString()} / {status.data.items_total.toLocaleString()}
              </span>
            </div>
            <ProgressBar value={status.data.items_ready / status.data.items_total} tone={processing ? 'accent' : 'success'} label="Items ready" />
          </div>
        )}
        {recent.length ? (
          <JobList jobs={recent} />
        ) : (
          <EmptyState title="No jobs yet">Upload files and their processing shows here.</EmptyState>
        )}
      </Card>
      <DatasetsCard project={project} />
    </div>
  );
}
