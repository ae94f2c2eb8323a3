'use client';
import Link from 'next/link';
import { useCallback, useRef, useState, useSyncExternalStore } from 'react';
import { errorMessage } from '@/lib/api/errors';
import { fetchConflicts, removeResolution, saveResolution, useInvalidateProject, useProjectStatus } from '@/lib/api/queries';
import { type ConflictItem, isMultilabel, type Project } from '@/lib/api/types';
import { prefetchItemImages } from '@/lib/image-cache';
import { actionForKey, isTypingTarget, keyForLabel } from '@/lib/label-keys';
import { LabelQueue } from '@/lib/label-queue';
import { percent } from '@/lib/metrics';
import { can } from '@/lib/permissions';
import { useKeydown } from '@/lib/use-keydown';
import { projectHref } from '@/lib/use-project-id';
import { ItemImage, ItemText } from '@/components/item-media';
import { PredictionPanel } from '@/components/prediction-panel';
import { ShortcutLegend, type Shortcut } from '@/features/labeling/shortcut-legend';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Badge, EmptyState, Kbd, PageHeader } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';
import { useToast } from '@/components/ui/toast';
import { GuidelinesPanel } from '@/features/guidelines/guidelines-panel';

/** The annotator whose answer Shift+N picks (0-based), by the physical digit key: Shift changes the character a digit key types. */
export function annotatorIndexForKey(event: Pick<KeyboardEvent, 'shiftKey' | 'code' | 'ctrlKey' | 'metaKey' | 'altKey' | 'target'>): number {
  if (!event.shiftKey || event.ctrlKey || event.metaKey || event.altKey || isTypingTarget(event.target)) return -1;
  const digit = /^Digit([1-9])$/.exec(event.code);
  return digit ? Number(digit[1]) - 1 : -1;
}

/** The conflicts to review, page by page in item order; skipped ones stay open for later. */
export function createConflictQueue(projectId: number): LabelQueue<ConflictItem> {
  let after: number | undefined;
  const queue = new LabelQueue<ConflictItem>({
    batchSize: 20,
    lowWater: 5,
    fetchBatch: async (limit) => {
      const page = await fetchConflicts(projectId, { limit, after });
      if (page.data.length) after = page.data[page.data.length - 1].id;
      return page.data;
    },
    onAdded: (items) =>
      prefetchItemImages(
        projectId,
        items.filter((item) => item.kind === 'image').map((item) => item.id),
      ),
  });
  void queue.refill(true);
  return queue;
}

/** "Majority: negative (2 of 3 annotators)" or "Tie: …": the final label as it stands. */
export function standing(item: Pick<ConflictItem, 'labels' | 'decided_by' | 'agreement' | 'annotations'>): string {
  const n = item.annotations.length;
  if (item.labels == null) return `Tie: no majority among ${n} annotators — left out of training until you decide`;
  const agreeing = Math.round((item.agreement ?? 0) * n);
  const shown = item.labels.length ? item.labels.join(', ') : 'none';
  if (item.decided_by === 'review') return `Resolved as ${shown}`;
  return `Majority: ${shown} (${agreeing} of ${n} annotators agree exactly)`;
}

function shortcutsFor(project: Project, annotators: number): Shortcut[] {
  const keys = project.labels.map((_, i) => keyForLabel(i)).filter((key): key is string => !!key);
  const range = keys.length > 3 ? [keys[0], '…', keys[keys.length - 1]] : keys;
  const who = annotators > 1 ? ['⇧1', '…', `⇧${Math.min(annotators, 9)}`] : ['⇧1'];
  const multi = isMultilabel(project.task);
  return [
    { keys: range, action: multi ? 'Toggle a label' : 'Choose a label' },
    { keys: who, action: "Take one annotator's answer" },
    ...(multi ? [{ keys: ['0'], action: 'None of the labels' }] : []),
    { keys: ['Enter'], action: 'Confirm the resolution, next conflict' },
    { keys: ['S'], action: 'Skip (stays open)' },
    { keys: ['←', '⌫'], action: 'Back to the previous conflict (reopens it)' },
  ];
}

const sameSet = (a: Set<string>, b: string[]) => a.size === b.length && b.every((label) => a.has(label));

/** One conflict: the item, each annotator's labels, and the choice being made. Mount with key=item id. */
function ConflictCard({
  project,
  item,
  previous,
  onResolve,
  onSkip,
  onBack,
}: {
  project: Project;
  item: ConflictItem;
  previous: string[] | null;
  onResolve: (labels: string[]) => void;
  onSkip: () => void;
  onBack: () => void;
}) {
  const multi = isMultilabel(project.task);
  const labels = project.labels;
  // the decision made here earlier, else the standing majority; a tie starts with nothing chosen
  const [selected, setSelected] = useState(() => new Set(previous ?? item.resolution?.labels ?? item.labels ?? []));
  const chosen = labels.filter((label) => selected.has(label));
  const ready = multi || chosen.length === 1;
  const choose = (label: string) =>
    setSelected((current) => {
      if (!multi) return new Set([label]);
      const next = new Set(current);
      if (next.has(label)) next.delete(label);
      else next.add(label);
      return next;
    });
  const submit = () => {
    if (ready) onResolve(chosen);
  };

  useKeydown((event) => {
    const who = annotatorIndexForKey(event);
    if (who >= 0) {
      event.preventDefault();
      if (who < item.annotations.length) setSelected(new Set(item.annotations[who].labels));
      return;
    }
    const action = actionForKey(event, labels.length, { noneKey: multi });
    if (!action) return;
    event.preventDefault();
    if (event.repeat && action.type !== 'back') return;
    if (action.type === 'label') choose(labels[action.index]);
    else if (action.type === 'none') setSelected(new Set());
    else if (action.type === 'confirm') submit();
    else if (action.type === 'skip') onSkip();
    else if (action.type === 'back') onBack();
  });

  return (
    <>
      <div className="stage" data-testid="current-item" data-item-id={item.id}>
        {item.kind === 'image' ? <ItemImage projectId={project.id} itemId={item.id} alt={item.name} className="stage-image" /> : <ItemText text={item.text} className="stage-text" />}
        <div className="stage-caption muted small" title={item.name}>
          {item.name}
          <Badge tone={item.labels == null ? 'danger' : 'warning'}>{item.labels == null ? 'Tie' : 'Majority'}</Badge>
        </div>
      </div>
      <p className="small" data-testid="standing">
        {standing(item)}
      </p>
      <section className="stack-sm" aria-label="Annotators">
        <strong>Annotators</strong>
        <div className="annotator-answers">
          {item.annotations.map((annotation, index) => {
            const on = sameSet(selected, annotation.labels);
            return (
              <button
                key={`${annotation.user_id}-${annotation.created_at}`}
                type="button"
                className={`annotator-answer ${on ? 'annotator-answer-on' : ''}`}
                aria-pressed={on}
                onClick={() => setSelected(new Set(annotation.labels))}
                title={annotation.email ?? undefined}
              >
                {index < 9 && <Kbd>⇧{index + 1}</Kbd>}
                <span className="annotator-name">{annotation.name}</span>
                <span className="annotator-labels">{annotation.labels.length ? annotation.labels.join(', ') : 'none'}</span>
                {annotation.source !== 'human' && <Badge tone="accent">{annotation.source}</Badge>}
              </button>
            );
          })}
        </div>
      </section>
      {/* biome-ignore lint/a11y/useSemanticElements: a <fieldset> brings its own border and spacing; role="group" names the set the same way */}
      <div className={`label-pad ${labels.length > 6 ? 'label-pad-many' : ''}`} role="group" aria-label="Labels">
        {labels.map((label, index) => {
          const key = keyForLabel(index);
          const on = selected.has(label);
          const votes = item.annotations.filter((a) => a.labels.includes(label)).length;
          return (
            <button key={label} type="button" className={`label-btn ${on ? 'label-btn-chosen' : ''}`} aria-pressed={on} onClick={() => choose(label)}>
              {key && <Kbd>{key}</Kbd>}
              <span className="label-btn-text">{label}</span>
              <span className="label-btn-prob" title="Annotators who chose it">
                {votes}/{item.annotations.length}
              </span>
            </button>
          );
        })}
      </div>
      <div className="row">
        <Button variant="primary" onClick={submit} disabled={!ready}>
          {ready ? `Resolve as ${chosen.length ? chosen.join(', ') : 'no labels'}` : 'Choose a label'} <Kbd>Enter</Kbd>
        </Button>
        {multi && (
          <Button onClick={() => setSelected(new Set())}>
            None of these <Kbd>0</Kbd>
          </Button>
        )}
      </div>
    </>
  );
}

interface Decision {
  labels: string[];
  saved: Promise<unknown>;
}

/** The review view: one open conflict at a time, decided by keyboard; owners and reviewers only. */
export function ConflictsReview({ project }: { project: Project }) {
  if (!can(project, 'review')) {
    return <EmptyState title="Only owners and reviewers resolve conflicts">Your role in this project is {project.role}.</EmptyState>;
  }
  return <ConflictsQueue project={project} />;
}

function ConflictsQueue({ project }: { project: Project }) {
  const notify = useToast();
  const invalidate = useInvalidateProject();
  const status = useProjectStatus(project.id);
  const [queue, setQueue] = useState(() => createConflictQueue(project.id));
  const snapshot = useSyncExternalStore(queue.subscribe, queue.getSnapshot, queue.getSnapshot);
  const decisions = useRef(new Map<number, Decision>());
  const [resolvedHere, setResolvedHere] = useState(0);
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const item = snapshot.current;

  const refreshSoon = useCallback(() => {
    if (refreshTimer.current) clearTimeout(refreshTimer.current);
    refreshTimer.current = setTimeout(() => invalidate(project.id), 1000);
  }, [invalidate, project.id]);

  const resolve = useCallback(
    (labels: string[]) => {
      const current = queue.current;
      if (!current) return;
      // going back reopened it; wait for that before deciding anew
      const before = decisions.current.get(current.id)?.saved ?? Promise.resolve();
      const saved = before.catch(() => undefined).then(() => saveResolution(project.id, current.id, labels));
      saved.catch((error: unknown) => notify(`“${current.name}” was not resolved: ${errorMessage(error)}`, 'error'));
      decisions.current.set(current.id, { labels, saved });
      setResolvedHere((n) => n + 1);
      queue.advance();
      refreshSoon();
    },
    [queue, project.id, notify, refreshSoon],
  );

  const skip = useCallback(() => {
    queue.advance();
  }, [queue]);

  const back = useCallback(() => {
    const previous = queue.back();
    if (!previous) return;
    const decision = decisions.current.get(previous.id);
    if (!decision) return;
    const removed = decision.saved.catch(() => undefined).then(() => removeResolution(project.id, previous.id));
    removed.catch((error: unknown) => notify(`Could not reopen “${previous.name}”: ${errorMessage(error)}`, 'error'));
    decisions.current.set(previous.id, { labels: decision.labels, saved: removed });
    setResolvedHere((n) => Math.max(0, n - 1));
    refreshSoon();
  }, [queue, project.id, notify, refreshSoon]);

  const open = status.data?.conflicts;
  const header = (
    <PageHeader
      title="Conflicts"
      description="Items whose annotators disagree. Your decision is the label the model trains on and the export carries; each annotator's own labels stay as they are."
    />
  );

  if (!item) {
    if (snapshot.error && !snapshot.items.length) return <ErrorMessage error={snapshot.error} title="Could not load the conflicts" />;
    if (!snapshot.exhausted) return <Loading label="Loading conflicts…" />;
    return (
      <div className="stack">
        {header}
        <EmptyState
          title="No open conflicts"
          action={
            <div className="row">
              <Link className="btn btn-primary btn-md" href={projectHref('dashboard', project.id)}>
                Dashboard
              </Link>
              <Button onClick={() => setQueue(createConflictQueue(project.id))}>Check again</Button>
            </div>
          }
        >
          {resolvedHere > 0 ? `You resolved ${resolvedHere} in this session. ` : ''}
          {open ? `${open} still open (skipped ones come back with “Check again”).` : 'Every disagreement has been decided.'}
        </EmptyState>
      </div>
    );
  }

  return (
    <div className="stack">
      {header}
      <div className={`labeler labeler-${item.kind}`}>
        <div className="labeler-main">
          <div className="labeler-bar">
            <span className="counter" data-testid="resolved-count">
              <strong className="tabular">{resolvedHere}</strong> resolved this session
            </span>
            {open != null && <span className="muted small tabular">{open.toLocaleString()} open</span>}
            <span className="spacer" />
            <Button size="sm" variant="ghost" onClick={back} disabled={!queue.canGoBack} title="Back to the previous conflict (← or Backspace)">
              ↶ Back <Kbd>←</Kbd>
            </Button>
            <Button size="sm" variant="ghost" onClick={skip} title="Skip (S)">
              Skip <Kbd>S</Kbd>
            </Button>
          </div>
          <ConflictCard key={item.id} project={project} item={item} previous={decisions.current.get(item.id)?.labels ?? null} onResolve={resolve} onSkip={skip} onBack={back} />
        </div>
        <aside className="labeler-side">
          <GuidelinesPanel projectId={project.id} />
          <PredictionPanel prediction={item.prediction} uncertainty={item.uncertainty} labels={project.labels} />
          <ShortcutLegend shortcuts={shortcutsFor(project, item.annotations.length)} />
          {item.agreement != null && <p className="muted small">Agreement on this item: {percent(item.agreement)}.</p>}
        </aside>
      </div>
    </div>
  );
}
