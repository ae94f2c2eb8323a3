'use client';
import { type Evidence, type EvidenceBlock, interval, percent } from '@/lib/metrics';

/** One figure with what it rests on, or only its counts below the minimum support. */
function Figure({ title, what, block, name, testId }: { title: string; what: string; block: EvidenceBlock; name: string; testId: string }) {
  const e = block.primary;
  const pool = block.pool;
  return (
    <div className="stat" data-testid={testId}>
      <div className="stat-label">{title}</div>
      {e && pool ? (
        <>
          <div className="stat-value tabular">{percent(pool.value, 1)}</div>
          <div className="stat-sub">
            {name} over all {pool.poolItems.toLocaleString()} items, 95 % interval {interval(pool)}: the {pool.queueLabels.toLocaleString()} queue-chosen labels counted, the rest
            estimated from {pool.auditLabels.toLocaleString()} {what} with the model&apos;s confidence. The {what} alone: {percent(e.value, 1)} ({interval(e)})
          </div>
        </>
      ) : e ? (
        <>
          <div className="stat-value tabular">{percent(e.value, 1)}</div>
          <div className="stat-sub">
            {name}, 95 % interval {interval(e)}; on {block.support.toLocaleString()} {what}
          </div>
        </>
      ) : (
        <>
          <div className="stat-value tabular">
            {block.support.toLocaleString()} of {block.minSupport}
          </div>
          <div className="stat-sub">
            {what} so far; the figure and its interval appear at {block.minSupport}
            {block.labelCounts.length ? ` (per label: ${block.labelCounts.join(' / ')})` : ''}
          </div>
        </>
      )}
    </div>
  );
}

export function verdict(evidence: Evidence): string {
  if (evidence.trust === 'audit') return 'Trust the audited figure: its items are a random sample of the pool.';
  if (evidence.trust === 'cross_validated')
    return 'No audited figure yet. The cross-validated one rests on the items the queue chose (hard, unusual ones), so it is a rough guide that usually understates.';
  return 'Too few labels for any figure yet: only counts are shown.';
}

/** The audited and the cross-validated figures side by side, which to trust, and a warning
 * when they disagree beyond their intervals. */
export function ModelQuality({ evidence }: { evidence: Evidence }) {
  return (
    <div className="stack-sm" data-testid="model-quality">
      <div className="grid-2">
        <Figure title="Audited (random sample)" what="audit labels" block={evidence.audit} name={evidence.name} testId="audit-figure" />
        <Figure title="Cross-validated (queue-chosen labels)" what="labels" block={evidence.cv} name={evidence.name} testId="cv-figure" />
      </div>
      <p className="muted small" data-testid="trust">
        {verdict(evidence)}
      </p>
      {evidence.disagree && (
        <div className="alert alert-warning" role="alert">
          The two figures disagree beyond their intervals: the items the queue chose are not like the rest of the pool. Go by the audited figure.
        </div>
      )}
    </div>
  );
}
