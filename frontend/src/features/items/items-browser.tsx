'use client';
import { useSearchParams } from 'next/navigation';
import { useEffect, useState } from 'react';
import { useDatasets, useItems, useMembers, useProjectStatus } from '@/lib/api/queries';
import { evidenceLine, parseEvidence } from '@/lib/metrics';
import type { ItemsQuery, Project } from '@/lib/api/types';
import { ItemImage } from '@/components/item-media';
import { ItemDrawer } from './item-drawer';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { SelectField, TextField } from '@/components/ui/field';
import { Badge, Card, EmptyState, PageHeader } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';

const PAGE = 50;

export interface ItemFilters {
  status: '' | 'labeled' | 'unlabeled' | 'conflict';
  dataset: string;
  label: string;
  predicted: string;
  annotator: string;
  q: string;
}

const EMPTY: ItemFilters = { status: '', dataset: '', label: '', predicted: '', annotator: '', q: '' };

/** Query parameters for GET /items: empty filters are left out; pages after the first by keyset (`after` = last id seen). */
export function itemQuery(filters: ItemFilters, after: number | undefined): ItemsQuery {
  return {
    status: filters.status || undefined,
    dataset: filters.dataset || undefined,
    label: filters.label || undefined,
    predicted: filters.predicted || undefined,
    annotator: filters.annotator ? Number(filters.annotator) : undefined,
    q: filters.q.trim() || undefined,
    limit: PAGE,
    after,
  };
}

function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

export function ItemsBrowser({ project }: { project: Project }) {
  const params = useSearchParams();
  // `?dataset=` opens the page filtered (the datasets list links here).
  const [filters, setFilters] = useState<ItemFilters>(() => ({ ...EMPTY, dataset: params.get('dataset') ?? '' }));
  // The last id of each page before this one: keyset paging stays fast deep into big projects.
  const [cursors, setCursors] = useState<number[]>([]);
  const after = cursors.length ? cursors[cursors.length - 1] : undefined;
  const offset = cursors.length * PAGE;
  const [open, setOpen] = useState<number | null>(null);
  const settled = useDebounced(filters, 250);
  const datasets = useDatasets(project.id);
  const members = useMembers(project.id);
  const status = useProjectStatus(project.id, { refetchInterval: false });
  const items = useItems(project.id, itemQuery(settled, after));
  const set = (patch: Partial<ItemFilters>) => {
    setFilters((current) => ({ ...current, ...patch }));
    setCursors([]);
  };
  const annotators = members.data?.data.map((m) => ({ id: m.user_id, name: m.name || m.email })) ?? status.data?.annotators.filter((a) => a.user_id != null).map((a) => ({ id: a.user_id as number, name: a.name })) ?? [];
  const count = items.data?.count ?? 0;
  const hasModel = status.data?.model_version != null;
  const evidence = parseEvidence(status.data?.metrics);

  return (
    <div className="stack">
      <PageHeader
        title="Items"
        description={
          <>
            Browse, filter and search every item; open one to see its annotations or relabel it.
            {hasModel && evidence && (
              <span className="muted small" style={{ display: 'block' }} data-testid="prediction-evidence">
                Predictions by model v{status.data?.model_version}: {evidenceLine(evidence)}.
              </span>
            )}
          </>
        }
      />
      <div className="filters">
        <TextField label="Search" type="search" placeholder="Text or file name" value={filters.q} onChange={(e) => set({ q: e.target.value })} />
        <SelectField label="Status" value={filters.status} onChange={(e) => set({ status: e.target.value as ItemFilters['status'] })}>
          <option value="">All</option>
          <option value="labeled">Labeled</option>
          <option value="unlabeled">Unlabeled</option>
          <option value="conflict">Conflict (annotators disagree)</option>
        </SelectField>
        <SelectField label="Label" value={filters.label} onChange={(e) => set({ label: e.target.value })}>
          <option value="">Any</option>
          {project.labels.map((l) => (
            <option key={l}>{l}</option>
          ))}
        </SelectField>
        <SelectField label="Predicted" value={filters.predicted} onChange={(e) => set({ predicted: e.target.value })} disabled={!hasModel} hint={hasModel ? undefined : 'No model yet'}>
          <option value="">Any</option>
          {project.labels.map((l) => (
            <option key={l}>{l}</option>
          ))}
        </SelectField>
        <SelectField label="Annotator" value={filters.annotator} onChange={(e) => set({ annotator: e.target.value })}>
          <option value="">Anyone</option>
          {annotators.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </SelectField>
        <SelectField label="Dataset" value={filters.dataset} onChange={(e) => set({ dataset: e.target.value })}>
          <option value="">All</option>
          {datasets.data?.data.map((d) => (
            <option key={d.id} value={d.name}>
              {d.name} ({d.items})
            </option>
          ))}
        </SelectField>
      </div>
      <Card>
        {items.isPending ? (
          <Loading />
        ) : items.error ? (
          <ErrorMessage error={items.error} />
        ) : !items.data.data.length ? (
          <EmptyState title="No items match">Change the filters, or upload items.</EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="table" data-testid="items-table">
              <thead>
                <tr>
                  <th>Item</th>
                  <th>Status</th>
                  <th>Label</th>
                  <th>Predicted</th>
                  <th className="num">Uncertainty</th>
                </tr>
              </thead>
              <tbody>
                {items.data.data.map((item) => (
                  <tr key={item.id} className="item-row" tabIndex={0} onClick={() => setOpen(item.id)} onKeyDown={(e) => e.key === 'Enter' && setOpen(item.id)}>
                    <td>
                      <div className="row" style={{ flexWrap: 'nowrap' }}>
                        {item.kind === 'image' && <ItemImage projectId={project.id} itemId={item.id} alt="" className="item-thumb" />}
                        <div className="item-cell-text" title={item.text ?? item.name}>
                          {item.kind === 'text' ? item.text : item.name}
                          {item.kind === 'text' && <div className="muted small">{item.name}</div>}
                        </div>
                      </div>
                    </td>
                    <td>
                      {item.conflict ? (
                        <Badge tone="warning" title="Its annotators disagree and no reviewer has decided yet">
                          conflict
                        </Badge>
                      ) : (
                        <Badge tone={item.status === 'labeled' ? 'success' : item.status === 'error' ? 'danger' : 'neutral'}>{item.status ?? '—'}</Badge>
                      )}
                    </td>
                    <td>
                      {item.decided_by === 'tie' ? (
                        <span className="muted" title="No majority: left out of training until a reviewer decides">
                          tie
                        </span>
                      ) : item.labels ? (
                        item.labels.join(', ') || <span className="muted">none</span>
                      ) : (
                        <span className="muted">—</span>
                      )}
                      {item.decided_by === 'review' && (
                        <span className="muted small" title="Decided by a reviewer">
                          {' '}
                          (reviewed)
                        </span>
                      )}
                    </td>
                    <td>
                      {item.prediction ? (
                        <span title={Object.entries(item.prediction.scores).map(([l, p]) => `${l} ${(p * 100).toFixed(0)}%`).join(', ')}>
                          {item.prediction.labels.join(', ') || 'none'}
                        </span>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                    <td className="num">{item.uncertainty != null ? item.uncertainty.toFixed(2) : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <div className="pager">
          <span className="muted small tabular">
            {count ? `${offset + 1}–${Math.min(offset + PAGE, count)} of ${count.toLocaleString()}` : ''}
          </span>
          <Button size="sm" disabled={!cursors.length} onClick={() => setCursors((stack) => stack.slice(0, -1))}>
            Previous
          </Button>
          <Button
            size="sm"
            disabled={offset + PAGE >= count || !items.data?.data.length || items.isPlaceholderData}
            onClick={() => {
              const rows = items.data?.data ?? [];
              if (rows.length) setCursors((stack) => [...stack, rows[rows.length - 1].id]);
            }}
          >
            Next
          </Button>
        </div>
      </Card>
      {open != null && <ItemDrawer project={project} itemId={open} onClose={() => setOpen(null)} />}
    </div>
  );
}
