'use client';
import { useEffect, useState } from 'react';
import { errorMessage } from '@/lib/api/errors';
import { useItem, useSaveAnnotation } from '@/lib/api/queries';
import { type DecidedBy, isMultilabel, type Project } from '@/lib/api/types';
import { ItemImage, ItemText } from '@/components/item-media';
import { PredictionPanel } from '@/components/prediction-panel';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Badge } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';
import { useToast } from '@/components/ui/toast';

const decidedText: Record<DecidedBy, string> = {
  single: 'its only annotation',
  majority: "the annotators' majority",
  review: 'resolved by a reviewer',
  suggestion: 'a confirmed suggestion',
  tie: 'no majority: left out of training until a reviewer decides',
};

/** One item with its annotations; any member who may write can relabel it here. */
export function ItemDrawer({ project, itemId, onClose }: { project: Project; itemId: number; onClose: () => void }) {
  const item = useItem(project.id, itemId);
  const [chosen, setChosen] = useState<string[] | null>(null);
  const annotate = useSaveAnnotation(project.id);
  const saving = annotate.isPending;
  const notify = useToast();
  const multi = isMultilabel(project.task);
  const current = chosen ?? item.data?.labels ?? [];

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => event.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

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
          <strong className="file-name">{item.data?.name ?? 'Item'}</strong>
          <Button size="sm" variant="ghost" onClick={onClose} aria-label="Close">
            Close <kbd className="kbd">Esc</kbd>
          </Button>
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
                            <Badge tone={a.source === 'suggestion' ? 'accent' : 'neutral'}>{a.source}</Badge>
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
            </>
          )}
        </div>
      </aside>
    </>
  );
}
