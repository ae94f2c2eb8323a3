'use client';
import Link from 'next/link';
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { errorMessage } from '@/lib/api/errors';
import { fetchItem, fetchQueue, removeAnnotation, saveAnnotation, skipItem, useInvalidateProject, useProjectStatus } from '@/lib/api/queries';
import { labelDuplicates } from '@/lib/api/quality';
import { isMultilabel, type Project, type QueueItem } from '@/lib/api/types';
import { prefetchItemImages } from '@/lib/image-cache';
import { isTypingTarget, keyForLabel } from '@/lib/label-keys';
import { LabelQueue } from '@/lib/label-queue';
import { useKeydown } from '@/lib/use-keydown';
import { projectHref } from '@/lib/use-project-id';
import { ItemImage, ItemText } from '@/components/item-media';
import { MultiLabelPad } from './multi-label-pad';
import { PredictionPanel } from '@/components/prediction-panel';
import { GuidelinesPanel } from '@/features/guidelines/guidelines-panel';
import { ShortcutLegend, type Shortcut } from './shortcut-legend';
import { SingleLabelPad } from './single-label-pad';
import { TrainingBadge } from './training-badge';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { EmptyState, Kbd } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';
import { useToast } from '@/components/ui/toast';

/** The least time between two status requests the labeler makes for its project counter. */
export const STATUS_REFRESH_MS = 1000;

/** The key that gives the item just labeled's near-duplicates the same label (not a label key). */
export const DUPLICATES_KEY = '=';

/** The last labeled item had near-duplicates: its label can go to them with one key. */
interface DuplicateOffer {
  itemId: number;
  name: string;
  count: number;
  labels: string[];
}

interface Decision {
  labels: string[] | null; // null: skipped
  saved: Promise<unknown>;
}

function shortcutsFor(project: Project): Shortcut[] {
  const keys = project.labels.map((_, i) => keyForLabel(i)).filter((key): key is string => !!key);
  const range = keys.length > 3 ? [keys[0], '…', keys[keys.length - 1]] : keys;
  if (isMultilabel(project.task)) {
    return [
      { keys: range, action: 'Toggle a label' },
      { keys: ['Enter'], action: 'Submit the checked labels' },
      { keys: ['0'], action: 'None of these' },
      { keys: ['S'], action: 'Skip' },
      { keys: ['←', '⌫'], action: 'Back to the previous item (undo)' },
    ];
  }
  return [
    { keys: range, action: 'Choose a label' },
    { keys: ['Enter'], action: "Accept the model's prediction" },
    { keys: ['S'], action: 'Skip' },
    { keys: ['←', '⌫'], action: 'Back to the previous item (undo)' },
  ];
}

export interface LabelSession {
  queue: LabelQueue<QueueItem>;
  /** How the server picked the last batch; set when a batch arrives. */
  meta: { coldStart: boolean; strategy: string; reason: string | null } | null;
}

/**
 * The browser-side queue for one project. It needs only the project id, so the label page starts
 * it at once, in parallel with loading the project: no request waits on another.
 */
export function createLabelSession(projectId: number): LabelSession {
  const session: LabelSession = {
    meta: null,
    queue: new LabelQueue<QueueItem>({
      batchSize: 10,
      lowWater: 3,
      fetchBatch: async (limit, exclude) => {
        const query = { limit, exclude: exclude.length ? exclude.join(',') : undefined };
        const page = await fetchQueue(projectId, query);
        session.meta = { coldStart: page.cold_start, strategy: page.strategy, reason: page.reason ?? null };
        return page.data;
      },
      onAdded: (items) =>
        prefetchItemImages(
          projectId,
          items.filter((item) => item.kind === 'image').map((item) => item.id),
        ),
    }),
  };
  void session.queue.refill(true);
  return session;
}

/** The labeling page: the queue, the current item, and the label controls. */
export function Labeler({ project, session: given }: { project: Project; session?: LabelSession | null }) {
  const notify = useToast();
  const invalidate = useInvalidateProject();
  // polled while labeling, so the project's counter and the model badge follow the team too
  const status = useProjectStatus(project.id, { refetchInterval: (query) => (query.state.data?.training ? 2000 : 5000) });
  const decisions = useRef(new Map<number, Decision>());
  const [sessionCount, setSessionCount] = useState(0);
  const [offer, setOffer] = useState<DuplicateOffer | null>(null);
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const [session] = useState(() => (given?.queue ? given : createLabelSession(project.id)));
  const queue = session.queue;
  const snapshot = useSyncExternalStore(queue.subscribe, queue.getSnapshot, queue.getSnapshot);
  const item = snapshot.current;
  const meta = session.meta;

  // While nothing is left, look again every few seconds (ingest may still be running, leases expire).
  useEffect(() => {
    if (!snapshot.exhausted) return;
    const timer = setInterval(() => void queue.refill(true), 5000);
    return () => clearInterval(timer);
  }, [snapshot.exhausted, queue]);

  // A newer model is active: the held items after the current one still carry the old model's
  // predictions. Fetch those items again (the current one stays as it is: no flicker).
  const modelVersion = status.data?.model_version;
  useEffect(() => {
    if (modelVersion == null) return;
    const stale = queue.upcoming(Number.MAX_SAFE_INTEGER).filter((held) => (held.prediction?.model_version ?? -1) < modelVersion);
    if (!stale.length) return;
    let cancelled = false;
    void Promise.all(
      stale.map((held) =>
        fetchItem(project.id, held.id)
          .then((fresh): QueueItem => ({ ...held, prediction: fresh.prediction, uncertainty: fresh.uncertainty ?? held.uncertainty }))
          .catch(() => null),
      ),
    ).then((fresh) => {
      if (!cancelled) queue.replaceUpcoming(fresh.filter((entry): entry is QueueItem => entry !== null));
    });
    return () => {
      cancelled = true;
    };
  }, [modelVersion, queue, project.id]);

  // Status and counts refresh a little after the last label, not on every key.
  const refreshSoon = useCallback(() => {
    if (refreshTimer.current) clearTimeout(refreshTimer.current);
    refreshTimer.current = setTimeout(() => invalidate(project.id), 1500);
  }, [invalidate, project.id]);

  // The project's counter, though, follows each saved label: the debounce above never fires while
  // someone labels faster than it ("30 labeled this session · 19 / 300 in project"). At most one
  // status request a second: the first at once, then one trailing request for the rest.
  const refetchStatus = status.refetch;
  const lastStatusFetch = useRef(0);
  const statusTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const refreshCounter = useCallback(() => {
    const fetchNow = () => {
      statusTimer.current = null;
      lastStatusFetch.current = Date.now();
      void refetchStatus({ cancelRefetch: false });
    };
    const wait = STATUS_REFRESH_MS - (Date.now() - lastStatusFetch.current);
    if (wait <= 0) fetchNow();
    else if (!statusTimer.current) statusTimer.current = setTimeout(fetchNow, wait);
  }, [refetchStatus]);
  useEffect(
    () => () => {
      if (statusTimer.current) clearTimeout(statusTimer.current);
      if (refreshTimer.current) clearTimeout(refreshTimer.current);
    },
    [],
  );

  const label = useCallback(
    (labels: string[]) => {
      const current = queue.current;
      if (!current) return;
      const earlier = decisions.current.get(current.id);
      // Going back already removed the earlier annotation; wait for that before writing anew.
      const before = earlier?.saved ?? Promise.resolve();
      const saved = before
        .catch(() => undefined)
        .then(() => saveAnnotation(project.id, current.id, labels));
      saved.then(refreshCounter, (error: unknown) => notify(`Label for “${current.name}” was not saved: ${errorMessage(error)}`, 'error'));
      decisions.current.set(current.id, { labels, saved });
      setSessionCount((n) => n + 1);
      setOffer(current.duplicates ? { itemId: current.id, name: current.name, count: current.duplicates, labels } : null);
      queue.advance();
      refreshSoon();
    },
    [queue, project.id, notify, refreshSoon, refreshCounter],
  );

  // One key: the near-duplicates of the item just labeled get its label too (source "duplicate").
  const giveToDuplicates = useCallback(() => {
    if (!offer) return;
    setOffer(null);
    const saved = decisions.current.get(offer.itemId)?.saved ?? Promise.resolve();
    saved
      .then(() => labelDuplicates(project.id, offer.itemId, offer.labels))
      .then(
        (done) => {
          const dropped = queue.drop(done.labeled);
          setSessionCount((n) => n + done.labeled.length);
          notify(`${done.labeled.length} near-duplicate${done.labeled.length === 1 ? '' : 's'} of “${offer.name}” labeled ${offer.labels.join(', ') || 'none'}${dropped ? ' (taken off your queue)' : ''}`, 'success');
          refreshSoon();
          refreshCounter();
        },
        (error: unknown) => notify(`The near-duplicates were not labeled: ${errorMessage(error)}`, 'error'),
      );
  }, [offer, project.id, queue, notify, refreshSoon, refreshCounter]);
  useKeydown(
    (event) => {
      if (event.key !== DUPLICATES_KEY || event.ctrlKey || event.metaKey || event.altKey || isTypingTarget(event.target)) return;
      event.preventDefault();
      giveToDuplicates();
    },
    offer !== null,
  );

  const skip = useCallback(() => {
    const current = queue.current;
    if (!current) return;
    setOffer(null);
    // the server ends our hold (someone else may take the item now) and counts the skip
    const before = decisions.current.get(current.id)?.saved ?? Promise.resolve();
    const saved = before.catch(() => undefined).then(() => skipItem(project.id, current.id));
    saved.catch((error: unknown) => notify(`Skip of “${current.name}” was not recorded: ${errorMessage(error)}`, 'error'));
    decisions.current.set(current.id, { labels: null, saved });
    queue.advance();
  }, [queue, project.id, notify]);

  const back = useCallback(() => {
    const previous = queue.back();
    if (!previous) return;
    setOffer(null);
    const decision = decisions.current.get(previous.id);
    if (decision?.labels) {
      const removed = decision.saved
        .catch(() => undefined)
        .then(() => removeAnnotation(project.id, previous.id));
      removed.then(refreshCounter, (error: unknown) => notify(`Could not undo the label: ${errorMessage(error)}`, 'error'));
      // Keep the old choice visible (highlighted) while the item waits for a new one.
      decisions.current.set(previous.id, { labels: decision.labels, saved: removed });
      setSessionCount((n) => Math.max(0, n - 1));
      refreshSoon();
    }
  }, [queue, project.id, notify, refreshSoon, refreshCounter]);

  const multilabel = isMultilabel(project.task);
  const previous = item ? decisions.current.get(item.id)?.labels : null;
  const labeled = status.data?.labeled ?? project.labeled;
  const total = status.data?.items_total ?? project.items_total;

  if (!item) {
    if (snapshot.error && !snapshot.items.length) return <ErrorMessage error={snapshot.error} title="Could not load items to label" />;
    if (!snapshot.exhausted) return <Loading label="Finding the most useful items to label…" />;
    return (
      <EmptyState
        title={total === 0 ? 'No items yet' : 'Nothing to label right now'}
        action={
          <div className="row">
            {total === 0 ? (
              <Link className="btn btn-primary btn-md" href={projectHref('upload', project.id)}>
                Upload items
              </Link>
            ) : (
              <Link className="btn btn-primary btn-md" href={projectHref('review', project.id)}>
                Review suggestions
              </Link>
            )}
            <Button onClick={() => void queue.refill(true)} busy={snapshot.loading}>
              Check again
            </Button>
          </div>
        }
      >
        {total === 0
          ? 'Upload images or texts to start labeling.'
          : `${meta?.reason ?? 'Every item is labeled, still being processed, or reserved by another annotator.'} This page checks again every few seconds.`}
        {sessionCount > 0 && <p>You labeled {sessionCount} items in this session.</p>}
      </EmptyState>
    );
  }

  const padProps = { labels: project.labels, prediction: item.prediction, previous, onLabel: label, onSkip: skip, onBack: back };
  const viewer = project.role === 'viewer';

  return (
    <div className={`labeler labeler-${item.kind}`}>
      <div className="labeler-main">
        <div className="labeler-bar">
          <span className="counter" data-testid="session-count">
            <strong className="tabular">{sessionCount}</strong> labeled this session
          </span>
          <span className="muted small tabular" data-testid="project-count">
            {labeled.toLocaleString()} / {total.toLocaleString()} in project
          </span>
          <TrainingBadge status={status.data} />
          {meta?.coldStart && <span className="badge badge-warning">Cold start</span>}
          <span className="spacer" />
          <Button size="sm" variant="ghost" onClick={back} disabled={!queue.canGoBack} title="Back to the previous item (← or Backspace)">
            ↶ Undo <Kbd>←</Kbd>
          </Button>
          <Button size="sm" variant="ghost" onClick={skip} title="Skip (S)">
            Skip <Kbd>S</Kbd>
          </Button>
        </div>
        <div className="stage" data-testid="current-item" data-item-id={item.id}>
          {item.kind === 'image' ? (
            <ItemImage projectId={project.id} itemId={item.id} alt={item.name} className="stage-image" />
          ) : (
            <ItemText text={item.text} className="stage-text" />
          )}
          <div className="stage-caption muted small" title={item.name}>
            {item.name}
            {previous && <span className="badge badge-accent">You chose: {previous.length ? previous.join(', ') : 'none'}</span>}
          </div>
        </div>
        {offer && (
          <div className="duplicate-offer small" data-testid="duplicate-offer" role="status">
            <span>
              “{offer.name}” has {offer.count} near-duplicate{offer.count === 1 ? '' : 's'}: press <Kbd>{DUPLICATES_KEY}</Kbd> to give {offer.count === 1 ? 'it' : 'them'} “{offer.labels.join(', ') || 'none'}” too.
            </span>
            <Button size="sm" onClick={giveToDuplicates}>
              Same label <Kbd>{DUPLICATES_KEY}</Kbd>
            </Button>
            <Button size="sm" variant="ghost" onClick={() => setOffer(null)}>
              No
            </Button>
          </div>
        )}
        {viewer ? (
          <p className="muted">Viewers cannot label. Ask an owner for the annotator role.</p>
        ) : multilabel ? (
          <MultiLabelPad key={item.id} {...padProps} />
        ) : (
          <SingleLabelPad {...padProps} />
        )}
      </div>
      <aside className="labeler-side">
        <GuidelinesPanel projectId={project.id} />
        <PredictionPanel prediction={item.prediction} uncertainty={item.uncertainty} labels={project.labels} coldStart={meta?.coldStart} />
        <ShortcutLegend shortcuts={shortcutsFor(project)} />
        {meta && <p className="muted small">Picked by {meta.coldStart ? 'representative sampling (no model yet)' : meta.strategy.replace('_', ' ')}.</p>}
      </aside>
    </div>
  );
}
