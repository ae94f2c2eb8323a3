'use client';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { errorMessage } from '@/lib/api/errors';
import { useDatasets, useDeleteDataset, useRenameDataset } from '@/lib/api/queries';
import type { Dataset, Project } from '@/lib/api/types';
import { can } from '@/lib/permissions';
import { projectHref } from '@/lib/use-project-id';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { Card, EmptyState } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';
import { useToast } from '@/components/ui/toast';

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;

function RenameForm({ project, dataset, onDone }: { project: Project; dataset: Dataset; onDone: () => void }) {
  const [name, setName] = useState(dataset.name);
  const rename = useRenameDataset(project.id);
  const notify = useToast();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    if (!trimmed || trimmed === dataset.name) return onDone();
    rename.mutate(
      { datasetId: dataset.id, name: trimmed },
      {
        onSuccess: () => {
          notify(`Renamed to “${trimmed}”`, 'success');
          onDone();
        },
      },
    );
  };
  return (
    <form className="row" onSubmit={submit}>
      <input
        className="input dataset-name-input"
        aria-label={`New name for ${dataset.name}`}
        value={name}
        maxLength={200}
        // biome-ignore lint/a11y/noAutofocus: the field appears because Rename was just pressed; the focus goes where the person types next
        autoFocus
        onChange={(e) => setName(e.target.value)}
        onKeyDown={(e) => e.key === 'Escape' && onDone()}
      />
      <Button type="submit" size="sm" variant="primary" busy={rename.isPending}>
        Save
      </Button>
      <Button size="sm" variant="ghost" onClick={onDone} disabled={rename.isPending}>
        Cancel
      </Button>
      {rename.error ? <span className="field-error small">{errorMessage(rename.error)}</span> : null}
    </form>
  );
}

/** The project's datasets (upload batches) with their item counts; rename inline, delete after a confirmation. */
export function DatasetsCard({ project }: { project: Project }) {
  const datasets = useDatasets(project.id);
  const remove = useDeleteDataset(project.id);
  const notify = useToast();
  const [editing, setEditing] = useState<number | null>(null);
  const [deleting, setDeleting] = useState<Dataset | null>(null);
  const canWrite = can(project, 'manageDatasets');
  const rows = datasets.data?.data ?? [];

  return (
    <Card title="Datasets" actions={<span className="muted small">Each upload goes into a dataset; the items page can filter by it.</span>}>
      {datasets.isPending ? (
        <Loading />
      ) : datasets.error ? (
        <ErrorMessage error={datasets.error} title="Could not load the datasets" />
      ) : !rows.length ? (
        <EmptyState title="No datasets yet">Uploads create one; choose its name above before dropping files.</EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="datasets-table">
            <thead>
              <tr>
                <th>Name</th>
                <th className="num">Items</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((dataset) => (
                <tr key={dataset.id} data-testid="dataset-row" data-name={dataset.name}>
                  <td>
                    {editing === dataset.id ? (
                      <RenameForm project={project} dataset={dataset} onDone={() => setEditing(null)} />
                    ) : (
                      <Link href={projectHref('items', project.id, { dataset: dataset.name })}>{dataset.name}</Link>
                    )}
                  </td>
                  <td className="num tabular">{(dataset.items ?? 0).toLocaleString()}</td>
                  <td className="row-end">
                    {canWrite && editing !== dataset.id && (
                      <>
                        <Button size="sm" variant="ghost" onClick={() => setEditing(dataset.id)} aria-label={`Rename ${dataset.name}`}>
                          Rename
                        </Button>
                        <Button size="sm" variant="danger" onClick={() => setDeleting(dataset)} aria-label={`Delete ${dataset.name}`}>
                          Delete
                        </Button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete the dataset “${deleting.name}”?`}
          confirmLabel={`Delete ${plural(deleting.items ?? 0, 'item')}`}
          busy={remove.isPending}
          onCancel={() => setDeleting(null)}
          onConfirm={() =>
            remove.mutate(deleting.id, {
              onSuccess: () => {
                notify(`Deleted “${deleting.name}” and its ${plural(deleting.items ?? 0, 'item')}`, 'success');
                setDeleting(null);
              },
              onError: (error) => notify(errorMessage(error), 'error'),
            })
          }
        >
          This deletes {plural(deleting.items ?? 0, 'item')} and their labels from the project. Models already trained keep what they learned; this cannot be undone.
        </ConfirmDialog>
      )}
    </Card>
  );
}
