'use client';
import Link from 'next/link';
import { useMemo, useState } from 'react';
import { errorMessage } from '@/lib/api/errors';
import { useReviewSuggestions, useSuggestions } from '@/lib/api/queries';
import { isMultilabel, type Project, type ReviewDecision, type Suggestion } from '@/lib/api/types';
import { isTypingTarget } from '@/lib/label-keys';
import { percent } from '@/lib/metrics';
import { useKeydown } from '@/lib/use-keydown';
import { projectHref } from '@/lib/use-project-id';
import { ItemImage } from '@/components/item-media';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Badge, Card, EmptyState, Kbd, PageHeader, Stat } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';
import { useToast } from '@/components/ui/toast';

type Verdict = { kind: 'accept' } | { kind: 'correct'; labels: string[] };

/** What is sent for one card: accepted, or corrected to other labels; a card nobody selected
 * sends nothing (cards start unselected: confirming is a person's decision, card by card). */
export function toDecision(item: Pick<Suggestion, 'id'>, verdict: Verdict | undefined): ReviewDecision | null {
  if (!verdict) return null;
  if (verdict.kind === 'correct') return { item_id: item.id, accept: false, labels: verdict.labels };
  return { item_id: item.id, accept: true };
}

/** "about 2 of these 60 are wrong": how many suggestions on the page may be wrong at the bound. */
export function wrongSentence(expected: number | null | undefined, shown: number): string | null {
  if (expected == null || !shown) return null;
  if (expected < 0.5) return `Fewer than 1 of these ${shown} is expected to be wrong — still, look before you accept.`;
  const about = Math.max(1, Math.round(expected));
  return `About ${about} of these ${shown} ${about === 1 ? 'is' : 'are'} wrong, going by the promised bound — look before you accept.`;
}

/** The group a suggestion shows under: its predicted label, or for multi-label its predicted set. */
export function groupKey(item: { label?: string | null; labels: string[] }): string {
  return item.labels.length > 1 ? item.labels.join(' + ') : (item.label ?? item.labels[0] ?? 'none of the labels');
}

export function groupByLabel<T extends { label?: string | null; labels: string[] }>(items: T[], order: string[]): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(groupKey(item), [...(groups.get(groupKey(item)) ?? []), item]);
  const rank = (label: string) => (order.includes(label) ? order.indexOf(label) : order.length);
  return [...groups.entries()].sort(([a], [b]) => rank(a) - rank(b));
}

function formatThreshold(threshold: number | Record<string, number | null> | null | undefined): string {
  if (threshold == null) return '—';
  if (typeof threshold === 'number') return threshold.toFixed(3);
  const values = Object.values(threshold).filter((v): v is number => typeof v === 'number');
  if (!values.length) return '—';
  const low = Math.min(...values);
  const high = Math.max(...values);
  return low === high ? low.toFixed(3) : `${low.toFixed(2)}–${high.toFixed(2)}`;
}

function SuggestionCard({
  project,
  item,
  verdict,
  onVerdict,
}: {
  project: Project;
  item: Suggestion;
  verdict: Verdict | undefined;
  onVerdict: (verdict: Verdict | null) => void;
}) {
  const kind = verdict?.kind ?? 'none';
  const multi = isMultilabel(project.task);
  const predicted = item.labels.length ? item.labels : item.label ? [item.label] : [];
  const shown = verdict?.kind === 'correct' ? verdict.labels : predicted;
  const stateText = kind === 'accept' ? 'Accept' : kind === 'correct' ? 'Corrected' : 'Not selected';
  const body = item.kind === 'image' ? <ItemImage projectId={project.id} itemId={item.id} alt={item.name} className="sugg-media" /> : <div className="sugg-text">{item.text}</div>;
  const correction = (
    <select
      className="input correct-select"
      aria-label={`Correct the label of ${item.name}`}
      value=""
      onClick={(e) => e.stopPropagation()}
      onChange={(e) => {
        const value = e.target.value;
        if (!value) return;
        if (value === '__none__') onVerdict({ kind: 'correct', labels: [] });
        else if (multi) {
          const set = new Set(shown);
          if (set.has(value)) set.delete(value);
          else set.add(value);
          onVerdict({ kind: 'correct', labels: project.labels.filter((l) => set.has(l)) });
        } else onVerdict({ kind: 'correct', labels: [value] });
      }}
    >
      <option value="">{multi ? 'Toggle label…' : 'Correct to…'}</option>
      {project.labels
        .filter((label) => multi || label !== item.label)
        .map((label) => (
          <option key={label} value={label}>
            {multi ? `${shown.includes(label) ? '✓ ' : ''}${label}` : label}
          </option>
        ))}
      {multi && <option value="__none__">None of these</option>}
    </select>
  );
  return (
    <div className="sugg-row-wrap">
      {/* biome-ignore lint/a11y/useSemanticElements: the card holds an image or a paragraph, which a <button> may not contain */}
      <div
        role="button"
        tabIndex={0}
        aria-pressed={kind !== 'none'}
        data-state={kind}
        className={`sugg sugg-${kind === 'accept' ? 'accepted' : kind === 'correct' ? 'corrected' : 'unselected'}`}
        onClick={() => onVerdict(kind === 'none' ? { kind: 'accept' } : null)}
        onKeyDown={(e) => {
          if (e.key === ' ' || e.key === 'x' || e.key === 'X') {
            e.preventDefault();
            e.stopPropagation();
            onVerdict(kind === 'none' ? { kind: 'accept' } : null);
          }
        }}
        title={`${item.name} — click to ${kind === 'none' ? 'accept' : 'unselect'}`}
        data-testid="suggestion"
      >
        {body}
        <div className="sugg-foot">
          <span className="sugg-state">
            {stateText}
            {kind === 'correct' && `: ${shown.join(', ') || 'none'}`}
          </span>
          <span className="muted tabular" title="Model confidence">
            {percent(item.confidence)}
          </span>
        </div>
      </div>
      {correction}
    </div>
  );
}

export function SuggestionsReview({ project }: { project: Project }) {
  const [label, setLabel] = useState('');
  const [verdicts, setVerdicts] = useState<Map<number, Verdict>>(new Map());
  const [result, setResult] = useState<string | null>(null);
  const notify = useToast();
  const images = project.task !== 'text_classification';
  const page = useSuggestions(project.id, label, images ? 48 : 30);
  const review = useReviewSuggestions(project.id);
  const items = useMemo(() => page.data?.data ?? [], [page.data]);
  const groups = useMemo(() => groupByLabel(items, project.labels), [items, project.labels]);

  const submit = () => {
    const decisions = items.map((item) => toDecision(item, verdicts.get(item.id))).filter((d): d is ReviewDecision => d !== null);
    if (!decisions.length || review.isPending) return;
    // through the promise, so a failure is told even if the page was left meanwhile
    void review.mutateAsync(decisions).then(
      (answer) => {
        setResult(`${answer.accepted} accepted, ${answer.corrected} corrected.`);
        setVerdicts(new Map());
      },
      (error: unknown) => notify(errorMessage(error), 'error'),
    );
  };

  useKeydown((event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || isTypingTarget(event.target)) return;
    const onControl = (event.target as HTMLElement | null)?.closest?.('button, [role="button"], a');
    if (event.key === 'a' || event.key === 'A' || (event.key === 'Enter' && !onControl)) {
      event.preventDefault();
      submit();
    }
  });

  const setVerdict = (id: number, verdict: Verdict | null) =>
    setVerdicts((current) => {
      const next = new Map(current);
      if (verdict) next.set(id, verdict);
      else next.delete(id);
      return next;
    });
  const selectAll = () => setVerdicts((current) => new Map(items.map((item) => [item.id, current.get(item.id) ?? { kind: 'accept' }])));

  const data = page.data;
  const acceptedCount = [...verdicts.values()].filter((v) => v.kind === 'accept').length;
  const corrected = [...verdicts.values()].filter((v) => v.kind === 'correct').length;
  const wrong = wrongSentence(data?.expected_wrong, items.length);
  const noModel = data && data.model_version == null;
  const detail = data && 'detail' in data && typeof data.detail === 'string' ? data.detail : null;
  const viewer = project.role === 'viewer';

  return (
    <div className="stack-lg">
      <PageHeader
        title="Suggestions"
        description="Items the model labels confidently. Nothing is accepted until you select it: click a card to accept it, or correct its label, then submit."
        actions={
          <select className="input" style={{ width: 200 }} value={label} onChange={(e) => setLabel(e.target.value)} aria-label="Only this predicted label">
            <option value="">All predicted labels</option>
            {project.labels.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        }
      />
      {result && (
        <div className="alert alert-success" role="status">
          Saved: {result}
        </div>
      )}
      {page.isPending ? (
        <Loading />
      ) : page.error || !data ? (
        <ErrorMessage error={page.error ?? new Error('No answer from the server.')} />
      ) : noModel ? (
        <EmptyState title="No model yet" action={<Link className="btn btn-primary btn-md" href={projectHref('label', project.id)}>Label items</Link>}>
          No model exists yet. Suggestions appear once a model is trained and confident enough.
        </EmptyState>
      ) : (
        <>
          <Card>
            <div className="review-summary">
              <Stat label="Precision target" value={percent(data.target_precision, 0)} />
              <Stat
                label="Promised precision"
                value={data.precision_lower_bound != null ? `≥ ${percent(data.precision_lower_bound, 1)}` : '—'}
                sub={
                  data.precision_lower_bound != null
                    ? `${percent(data.confidence_level ?? 0.95, 0)} lower bound; ${data.calibration_support} of ${data.calibration_items} held-out human labels pass the threshold (${percent(data.calibrated_precision, 1)} right)`
                    : data.reachable_precision != null
                      ? `on ${data.calibration_items} held-out human labels, which back at most ${percent(data.reachable_precision, 1)} now`
                      : `on ${data.calibration_items} held-out human labels${data.min_labels ? `; ${data.min_labels} needed` : ''}`
                }
              />
              <Stat label="Confidence threshold" value={formatThreshold(data.threshold)} sub={typeof data.threshold === 'object' && data.threshold ? 'calibrated per label' : undefined} />
              <Stat label="Qualifying items" value={data.qualifying.toLocaleString()} sub={`model v${data.model_version}`} />
            </div>
            {wrong && (
              <p className="muted small" data-testid="expected-wrong">
                {wrong}
              </p>
            )}
          </Card>
          {!items.length ? (
            <EmptyState title="Nothing to review">
              {detail ? `${detail.replace(/\.?$/, '.')} ` : `No unlabeled item passes the threshold for ${percent(data.target_precision)} precision. `}
              Label more items and the model becomes more confident.
            </EmptyState>
          ) : (
            <>
              {groups.map(([group, members]) => (
                <section key={group} className="review-group" aria-label={`Predicted ${group}`}>
                  <h2 className="review-group-title">
                    {group} <Badge>{members.length}</Badge>
                  </h2>
                  <div className={images ? 'review-grid' : 'review-list'}>
                    {members.map((item) => (
                      <SuggestionCard key={item.id} project={project} item={item} verdict={verdicts.get(item.id)} onVerdict={(v) => setVerdict(item.id, v)} />
                    ))}
                  </div>
                </section>
              ))}
              <div className="review-bar">
                <span>
                  <strong>{acceptedCount}</strong> accept · <strong>{corrected}</strong> correct · <strong>{items.length - acceptedCount - corrected}</strong> not selected
                </span>
                <span className="spacer" />
                {!viewer && (
                  <>
                    <Button onClick={selectAll}>Select all</Button>
                    <Button onClick={() => setVerdicts(new Map())} disabled={!verdicts.size}>
                      Clear
                    </Button>
                    <Button variant="primary" size="lg" onClick={submit} busy={review.isPending} disabled={!verdicts.size}>
                      Submit selected <Kbd>A</Kbd>
                    </Button>
                  </>
                )}
              </div>
            </>
          )}
        </>
      )}
    </div>
  );
}
