'use client';
import { useEffect, useState } from 'react';
import { errorMessage } from '@/lib/api/errors';
import { useItem, useSaveAnnotation } from '@/lib/api/queries';
import { useDuplicates, useLabelDuplicates } from '@/lib/api/quality';
import { type DecidedBy, isMultilabel, type Project } from '@/lib/api/types';
import { can } from '@/lib/permissions';
import { ItemImage, ItemText } from '@/components/item-media';
import { PredictionPanel } from '@/components/prediction-panel';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Badge } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';
import { useToast } from '@/components/ui/toast';
import { MoreLikeThis } from './similar-items';

export interface DrawerNavigation {
  /** "3 of 50" */
  position?: string;
  onNext?: () => void;
  onPrevious?: () => void;
  /** Opens another item (a neighbour, a near-duplicate) in the drawer. */
  onOpen?: (itemId: number) => void;
}

const typing = (target: EventTarget | null) => target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));

const decidedText: Record<DecidedBy, string> = {
  single: 'its only annotation',
  majority: "the annotators' majority",
  review: 'resolved by a reviewer',
  suggestion: 'a confirmed suggestion',
  tie: 'no majority: left out of training until a reviewer decides',
};

/** One item with its annotations; any member who may write can relabel it here. */
export function ItemDrawer({ project, itemId, onClose, position, onNext, onPrevious, onOpen }: { project: Project; itemId: number; onClose: () => void } & DrawerNavigation) {
  const item = useItem(project.id, itemId);
  const [chosen, setChosen] = useState<string[] | null>(null);
  const annotate = useSaveAnnotation(project.id);
  const saving = annotate.isPending;
  const notify = useToast();
  const multi = isMultilabel(project.task);
  const current = chosen ?? item.data?.labels ?? [];

  // Escape closes; J / ↓ / → the next item of the list, K / ↑ / ← the previous one
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') return onClose();
      if (typing(event.target) || event.metaKey || event.ctrlKey || event.altKey) return;
      const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
      const move = ['j', 'ArrowDown', 'ArrowRight'].includes(key) ? onNext : ['k', 'ArrowUp', 'ArrowLeft'].includes(key) ? onPrevious : undefined;
      if (move) {
        event.preventDefault();
        move();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose, onNext, onPrevious]);
  // a new item: the choice made on the previous one does not carry over
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset when the item changes
  useEffect(() => setChosen(null), [itemId]);

  // through the promise, so the toast comes even when the drawer was closed meanwhile
  const save = (labels: string[]) =>
    annotate.mutateAsync({ itemId, labels }).then(
      () => {
        notify('Label saved', 'success');
        setChosen(null);
      },
      (error: unknown) => notify(errorMessage(error), 'error'),
    );

  return (
    <>
      {/* biome-ignore lint/a11y/noStaticElementInteractions lint/a11y/useKeyWithClickEvents: a mouse target only; Escape closes (the window listener above) */}
      <div className="drawer-backdrop" onClick={onClose} />
      <aside className="drawer" role="dialog" aria-modal="true" aria-label="Item">
        <div className="drawer-head">
          <strong className="drawer-title">{item.data?.name ?? 'Item'}</strong>
          <div className="row" style={{ flexWrap: 'nowrap' }}>
            {(onPrevious || onNext) && (
              <>
                {position && <span className="muted small tabular">{position}</span>}
                <Button size="sm" variant="ghost" onClick={onPrevious} disabled={!onPrevious} aria-label="Previous item" title="Previous item (K or ↑)">
                  ↑ <kbd className="kbd">K</kbd>
                </Button>
                <Button size="sm" variant="ghost" onClick={onNext} disabled={!onNext} aria-label="Next item" title="Next item (J or ↓)">
                  ↓ <kbd className="kbd">J</kbd>
                </Button>
              </>
            )}
            <Button size="sm" variant="ghost" onClick={onClose} aria-label="Close">
              Close <kbd className="kbd">Esc</kbd>
            </Button>
          </div>
        </div>
        <div className="drawer-body">
          {item.isPending ? (
            <Loading />
          ) : item.error ? (
            <ErrorMessage error={item.error} />
          ) : (
            <>
              {item.data.kind === 'image' ? (
                <ItemImage projectId={project.id} itemId={itemId} alt={item.data.name} className="drawer-image" />
              ) : (
                <ItemText text={item.data.text} />
              )}
              <div className="row small muted">
                {item.data.dataset && <span>Dataset {item.data.dataset}</span>}
                {item.data.status && <Badge>{item.data.status}</Badge>}
                {item.data.conflict && <Badge tone="warning">conflict</Badge>}
              </div>
              {item.data.decided_by && (
                <p className="small" data-testid="final-label">
                  Final label: <strong>{item.data.labels == null ? 'none yet (a tie)' : item.data.labels.join(', ') || 'none'}</strong> <span className="muted">({decidedText[item.data.decided_by]})</span>
                  {item.data.resolution && <span className="muted"> by {item.data.resolution.user_name ?? 'a reviewer'}</span>}
                </p>
              )}
              {project.role !== 'viewer' && (
                <div className="stack-sm">
                  <strong>{multi ? 'Labels' : 'Label'}</strong>
                  <div className="row">
                    {project.labels.map((label) => {
                      const on = current.includes(label);
                      return (
                        <button
                          key={label}
                          type="button"
                          className={`btn btn-sm ${on ? 'btn-primary' : 'btn-secondary'}`}
                          aria-pressed={on}
                          disabled={saving}
                          onClick={() => {
                            if (!multi) void save([label]);
                            else setChosen(on ? current.filter((l) => l !== label) : project.labels.filter((l) => l === label || current.includes(l)));
                          }}
                        >
                          {label}
                        </button>
                      );
                    })}
                  </div>
                  {multi && (
                    <div className="row">
                      <Button variant="primary" size="sm" busy={saving} onClick={() => void save(current)}>
                        Save {current.length ? current.join(', ') : 'no labels'}
                      </Button>
                    </div>
                  )}
                </div>
              )}
              <PredictionPanel prediction={item.data.prediction} uncertainty={item.data.uncertainty} labels={project.labels} />
              {item.data.likely_error && (
                <p className="small" data-testid="likely-error">
                  <Badge tone="warning">Likely label error</Badge> the model's out-of-fold prediction disputes this label (score {item.data.label_error_score?.toFixed(2)}).
                </p>
              )}
              {!!item.data.duplicates && <NearDuplicates project={project} itemId={itemId} labels={item.data.labels ?? null} onOpen={onOpen} />}
              <div className="stack-sm">
                <strong>Annotations</strong>
                {item.data.annotations?.length ? (
                  <table className="table">
                    <tbody>
                      {item.data.annotations.map((a) => (
                        <tr key={a.id}>
                          <td>{a.user_name || (a.user_id ? `User ${a.user_id}` : 'Unknown')}</td>
                          <td>{a.labels.length ? a.labels.join(', ') : <span className="muted">none</span>}</td>
                          <td>
                            <Badge tone={a.source === 'suggestion' || a.source === 'duplicate' ? 'accent' : 'neutral'}>{a.source}</Badge>
                          </td>
                          <td className="muted small">{new Date(a.created_at).toLocaleString()}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                ) : (
                  <p className="muted small">Not labeled yet.</p>
                )}
              </div>
              {item.data.status !== 'pending' && onOpen && <MoreLikeThis project={project} itemId={itemId} onOpen={onOpen} />}
            </>
          )}
        </div>
      </aside>
    </>
  );
}

/** The item's near-duplicates, and (for those who label) its label given to them in one go. */
function NearDuplicates({ project, itemId, labels, onOpen }: { project: Project; itemId: number; labels: string[] | null; onOpen?: (itemId: number) => void }) {
  const group = useDuplicates(project.id, itemId);
  const give = useLabelDuplicates(project.id);
  const notify = useToast();
  const others = group.data?.data ?? [];
  return (
    <div className="stack-sm" data-testid="near-duplicates">
      <strong>Near-duplicates</strong>
      {group.isPending ? (
        <Loading />
      ) : (
        <>
          <ul className="similar-list">
            {others.map((other) => (
              <li key={other.id}>
                <button type="button" className="similar-entry" onClick={() => onOpen?.(other.id)} disabled={!onOpen}>
                  <span className="similar-text">{other.kind === 'text' ? other.text : other.name}</span>
                  <span className="muted small">{other.labels?.length ? other.labels.join(', ') : 'unlabeled'}</span>
                </button>
              </li>
            ))}
          </ul>
          {can(project, 'label') && labels && labels.length > 0 && (
            <div className="row">
              <Button
                size="sm"
                busy={give.isPending}
                onClick={() =>
                  give.mutateAsync({ itemId, labels }).then(
                    (done) => notify(`${done.labeled.length} near-duplicate${done.labeled.length === 1 ? '' : 's'} labeled ${labels.join(', ')}${done.skipped.length ? `; ${done.skipped.length} left (labeled by you already, or full)` : ''}`, 'success'),
                    (error: unknown) => notify(errorMessage(error), 'error'),
                  )
                }
              >
                Give them “{labels.join(', ')}”
              </Button>
              <span className="muted small">cosine ≥ {group.data?.threshold}</span>
            </div>
          )}
        </>
      )}
    </div>
  );
}
