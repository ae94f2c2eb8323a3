import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { LabelIssue, LabelIssuePage } from '@/lib/api/quality';
import { issueLine, LabelIssueList } from './label-issue-list';

const issue = (id: number, extra: Partial<LabelIssue> = {}): LabelIssue => ({
  item: { id, name: `r${id}`, kind: 'text', text: `The soup was cold ${id}`, conflict: false },
  given: ['positive'],
  model_thinks: ['negative'],
  disputed: ['positive', 'negative'],
  probability: 0.83,
  given_probability: 0.17,
  score: 0.83,
  annotators: 3,
  votes: [
    { labels: ['positive'], count: 2, annotators: ['ann', 'bob'] },
    { labels: ['negative'], count: 1, annotators: ['cy'] },
  ],
  ...extra,
});

const page = (data: LabelIssue[]): LabelIssuePage => ({ data, count: data.length, checked: 40, model_version: 2, method: 'confident learning', detail: null });

describe('likely label errors', () => {
  it('say what the model thinks and what the annotators said', () => {
    expect(issueLine(issue(1))).toBe('The model thinks negative (83 %); 2 annotators said positive; 1 annotator said negative');
    expect(issueLine(issue(1, { votes: [], model_thinks: [] }))).toBe("The model thinks no label (83 %); the training's label was positive");
  });

  it('list surest first and open an item on click', () => {
    const onOpen = vi.fn();
    render(<LabelIssueList page={page([issue(4), issue(9, { score: 0.6 })])} onOpen={onOpen} />);
    const entries = screen.getAllByRole('button');
    expect(entries).toHaveLength(2);
    expect(entries[0]).toHaveTextContent('The soup was cold 4');
    expect(entries[0]).toHaveTextContent('score 0.83 · given positive at 17 %');
    fireEvent.click(entries[1]);
    expect(onOpen).toHaveBeenCalledWith(9);
  });

  it('explain an empty list', () => {
    render(<LabelIssueList page={{ ...page([]), detail: 'No model yet' }} onOpen={vi.fn()} />);
    expect(screen.getByText('No likely label errors')).toBeInTheDocument();
    expect(screen.getByText('No model yet')).toBeInTheDocument();
  });
});
