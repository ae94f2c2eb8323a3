'use client';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useEffect, useState } from 'react';
import { useDatasets, useItems, useMembers, useProjectStatus } from '@/lib/api/queries';
import { useLabelIssues } from '@/lib/api/quality';
import { evidenceLine, parseEvidence } from '@/lib/metrics';
import { modalityOf, type Item, type Project } from '@/lib/api/types';
import { ItemImage } from '@/components/item-media';
import { ItemDrawer } from './item-drawer';
import { EMPTY, filtersFrom, itemQuery, ordered, PAGE, PRESETS, presetActive, withFilters, type ItemFilters } from './item-filters';
import { LabelIssueList } from './label-issue-list';
import { SearchByMeaning } from './similar-items';
import { SortHeader } from './sort-header';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { SelectField, TextField } from '@/components/ui/field';
import { Badge, Card, EmptyState, PageHeader } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';

export { itemQuery, type ItemFilters } from './item-filters';

function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** The page of ids shown, for the drawer's next / previous. */
function neighbours(ids: number[], open: number | null) {
  const at = open == null ? -1 : ids.indexOf(open);
  return { at, previous: at > 0 ? ids[at - 1] : undefined, next: at >= 0 && at < ids.length - 1 ? ids[at + 1] : undefined };
}

export function ItemsBrowser({ project }: { project: Project }) {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  // The filters live in the URL (`?dataset=`, `?view=likely_error`, ...): a reload or a link opens the same list.
  const [filters, setFilters] = useState<ItemFilters>(() => filtersFrom(new URLSearchParams(params.toString())));
  // The last id of each page before this one: keyset paging stays fast deep into big projects.
  // An ordered list (a sort or a preset view) pages by offset instead.
  const [cursors, setCursors] = useState<number[]>([]);
  const after = cursors.length ? cursors[cursors.length - 1] : undefined;
  const offset = cursors.length * PAGE;
  const [open, setOpen] = useState<number | null>(null);
  const settled = useDebounced(filters, 250);
  const issuesView = settled.view === 'likely_error' && !settled.sort;
  const datasets = useDatasets(project.id);
  const members = useMembers(project.id);
  const status = useProjectStatus(project.id, { refetchInterval: false });
  const items = useItems(project.id, itemQuery(settled, after, offset), !issuesView);
  const issues = useLabelIssues(project.id, offset, PAGE, issuesView);

  // write the settled filters into the URL, keeping `project` and anything else there
  const search = params.toString();
  useEffect(() => {
    const next = withFilters(new URLSearchParams(search), settled);
    if (next.toString() !== search) router.replace(`${pathname}?${next}`, { scroll: false });
  }, [settled, search, router, pathname]);

  const set = (patch: Partial<ItemFilters>) => {
    setFilters((current) => ({ ...current, ...patch }));
    setCursors([]);
  };
  const annotators = members.data?.data.map((m) => ({ id: m.user_id, name: m.name || m.email })) ?? status.data?.annotators.filter((a) => a.user_id != null).map((a) => ({ id: a.user_id as number, name: a.name })) ?? [];
  const count = issuesView ? (issues.data?.count ?? 0) : (items.data?.count ?? 0);
  const hasModel = status.data?.model_version != null;
  const evidence = parseEvidence(status.data?.metrics);
  const shownIds = issuesView ? (issues.data?.data.map((issue) => issue.item.id) ?? []) : (items.data?.data.map((item) => item.id) ?? []);
  const nav = neighbours(shownIds, open);
  const pageRows = issuesView ? issues.data?.data.length : items.data?.data.length;
  const loading = issuesView ? issues.isPending : items.isPending;
  const error = issuesView ? issues.error : items.error;

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
      <div className="preset-bar" role="toolbar" aria-label="Views">
        {PRESETS.map((preset) => {
          const active = presetActive(preset, filters);
          return (
            <button
              key={preset.key}
              type="button"
              className={`btn btn-sm ${active ? 'btn-primary' : 'btn-secondary'}`}
              aria-pressed={active}
              title={preset.needsModel && !hasModel ? 'Needs a model first' : preset.hint}
              disabled={preset.needsModel && !hasModel}
              onClick={() => set(preset.apply)}
            >
              {preset.title}
            </button>
          );
        })}
        {JSON.stringify(filters) !== JSON.stringify(EMPTY) && (
          <Button size="sm" variant="ghost" onClick={() => set(EMPTY)}>
            Clear filters
          </Button>
        )}
      </div>
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
      {modalityOf(project.task) === 'text' && (
        <Card>
          <SearchByMeaning project={project} onOpen={setOpen} />
        </Card>
      )}
      <Card>
        {loading ? (
          <Loading />
        ) : error ? (
          <ErrorMessage error={error} />
        ) : issuesView && issues.data ? (
          <LabelIssueList page={issues.data} onOpen={setOpen} />
        ) : !items.data?.data.length ? (
          <EmptyState title="No items match">{filters.view ? 'No item is in this view with these filters.' : 'Change the filters, or upload items.'}</EmptyState>
        ) : (
          <ItemsTable project={project} rows={items.data.data} filters={filters} onSort={(sort) => set({ sort })} onOpen={setOpen} />
        )}
        <div className="pager">
          <span className="muted small tabular">{count ? `${offset + 1}–${Math.min(offset + PAGE, count)} of ${count.toLocaleString()}` : ''}</span>
          <Button size="sm" disabled={!cursors.length} onClick={() => setCursors((stack) => stack.slice(0, -1))}>
            Previous
          </Button>
          <Button
            size="sm"
            disabled={offset + PAGE >= count || !pageRows || (!issuesView && items.isPlaceholderData)}
            onClick={() => {
              // keyset: the last id of this page; ordered lists only count pages (offset)
              const last = shownIds[shownIds.length - 1] ?? 0;
              setCursors((stack) => [...stack, ordered(settled) ? offset + PAGE : last]);
            }}
          >
            Next
          </Button>
        </div>
      </Card>
      {open != null && (
        <ItemDrawer
          project={project}
          itemId={open}
          onClose={() => setOpen(null)}
          position={nav.at >= 0 ? `${offset + nav.at + 1} of ${count.toLocaleString()}` : undefined}
          onNext={nav.next != null ? () => setOpen(nav.next ?? null) : undefined}
          onPrevious={nav.previous != null ? () => setOpen(nav.previous ?? null) : undefined}
          onOpen={setOpen}
        />
      )}
    </div>
  );
}

const num = (value: number | null | undefined) => (value != null ? value.toFixed(2) : '—');

/** One page of items with the quality columns; the figures' headers sort the whole list. */
export function ItemsTable({ project, rows, filters, onSort, onOpen }: { project: Project; rows: Item[]; filters: ItemFilters; onSort: (sort: ItemFilters['sort']) => void; onOpen: (itemId: number) => void }) {
  const sortable = { sort: filters.sort, onSort };
  return (
    <div className="table-wrap">
      <table className="table" data-testid="items-table">
        <thead>
          <tr>
            <th>Item</th>
            <th>Status</th>
            <th>Label</th>
            <th>Annotators</th>
            <th>Source</th>
            <th>Predicted</th>
            <SortHeader label="Confidence" sortKey="confidence" title="The model's probability of its own prediction" {...sortable} />
            <SortHeader label="Uncertainty" sortKey="uncertainty" title={`By the project's strategy (${project.strategy.replace('_', ' ')})`} {...sortable} />
            <SortHeader label="Label error" sortKey="label_error" title="1 − the out-of-fold probability of the given label: higher is likelier an error" {...sortable} />
          </tr>
        </thead>
        <tbody>
          {rows.map((item) => (
            <tr key={item.id} className="item-row" tabIndex={0} onClick={() => onOpen(item.id)} onKeyDown={(e) => e.key === 'Enter' && onOpen(item.id)}>
              <td>
                <div className="row" style={{ flexWrap: 'nowrap' }}>
                  {item.kind === 'image' && <ItemImage projectId={project.id} itemId={item.id} alt="" className="item-thumb" />}
                  <div className="item-cell-text" title={item.text ?? item.name}>
                    {item.kind === 'text' ? item.text : item.name}
                    <div className="muted small">
                      {item.kind === 'text' && item.name}
                      {!!item.duplicates && (
                        <>
                          {' '}
                          <Badge tone="accent" title="Items whose embeddings are near-identical to this one">
                            {item.duplicates} near-duplicate{item.duplicates === 1 ? '' : 's'}
                          </Badge>
                        </>
                      )}
                    </div>
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
                {item.likely_error && (
                  <>
                    {' '}
                    <Badge tone="warning" title="The model's out-of-fold prediction disputes this label">
                      likely error
                    </Badge>
                  </>
                )}
              </td>
              <td className="small">{item.annotators?.length ? item.annotators.join(', ') : <span className="muted">—</span>}</td>
              <td className="small">{item.source ?? <span className="muted">—</span>}</td>
              <td>
                {item.prediction ? (
                  <span title={Object.entries(item.prediction.scores).map(([l, p]) => `${l} ${(p * 100).toFixed(0)}%`).join(', ')}>{item.prediction.labels.join(', ') || 'none'}</span>
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
              <td className="num">{num(item.confidence)}</td>
              <td className="num">{num(item.uncertainty)}</td>
              <td className="num">{num(item.label_error_score)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
