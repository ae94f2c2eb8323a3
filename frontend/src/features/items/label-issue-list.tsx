'use client';
import type { LabelIssue, LabelIssuePage } from '@/lib/api/quality';
import { EmptyState } from '@/components/ui/misc';

const pct = (p: number) => `${Math.round(p * 100)} %`;

/** "The model thinks X (83 %); 2 annotators said Y": who said what, from the item's votes. */
export function issueLine(issue: LabelIssue): string {
  const thinks = issue.model_thinks.length ? issue.model_thinks.join(', ') : 'no label';
  const said = issue.votes.length
    ? issue.votes.map((vote) => `${vote.count} ${vote.count === 1 ? 'annotator' : 'annotators'} said ${vote.labels.join(', ') || 'none'}`).join('; ')
    : `the training's label was ${issue.given.join(', ')}`;
  return `The model thinks ${thinks} (${pct(issue.probability)}); ${said}`;
}

/** The likely label errors, surest first; a click opens the item. */
export function LabelIssueList({ page, onOpen }: { page: LabelIssuePage; onOpen: (itemId: number) => void }) {
  if (!page.data.length)
    return (
      <EmptyState title="No likely label errors">
        {page.detail ?? `The model's out-of-fold predictions agree with the labels of all ${page.checked.toLocaleString()} items it checked, or dispute them too weakly to flag.`}
      </EmptyState>
    );
  return (
    <ol className="issue-list" data-testid="label-issues">
      {page.data.map((issue) => (
        <li key={issue.item.id}>
          <button type="button" className="issue-entry" onClick={() => onOpen(issue.item.id)}>
            <span className="issue-text">{issue.item.kind === 'text' ? issue.item.text : issue.item.name}</span>
            <span className="issue-line">{issueLine(issue)}</span>
            <span className="muted small tabular">
              score {issue.score.toFixed(2)} · given {issue.given.join(', ') || 'none'} at {pct(issue.given_probability)}
            </span>
          </button>
        </li>
      ))}
    </ol>
  );
}
