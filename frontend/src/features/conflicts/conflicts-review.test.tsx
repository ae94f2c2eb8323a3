import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConflictItem, Project, Role } from '@/lib/api/types';
import { projectTabs } from '@/features/project/project-shell';
import { annotatorIndexForKey, ConflictsReview, standing } from './conflicts-review';
import { ToastProvider } from '@/components/ui/toast';

const projectAs = (role: Role, task: Project['task'] = 'text_classification', labels = ['negative', 'positive', 'neutral']) =>
  ({ id: 5, name: 'Reviews', task, labels, role, backbone: 'minilm', strategy: 'margin', annotations_per_item: 3, items_total: 10, labeled: 6 }) as unknown as Project;

const annotation = (name: string, labels: string[], userId: number) => ({ user_id: userId, name, email: `${name}@example.com`, labels, source: 'human' as const, created_at: `2026-12-01T00:00:0${userId}Z` });

function conflict(id: number, votes: [string, string[]][], final: string[] | null): ConflictItem {
  return {
    id,
    name: `row-${id}`,
    kind: 'text',
    text: `Sentence ${id}`,
    dataset: 'default',
    annotations: votes.map(([name, labels], i) => annotation(name, labels, i + 1)),
    labels: final,
    decided_by: final ? 'majority' : 'tie',
    agreement: final ? 2 / 3 : null,
    conflict: true,
    prediction: { labels: ['positive'], scores: { negative: 0.3, positive: 0.6, neutral: 0.1 }, model_version: 2 },
    uncertainty: 0.4,
    resolution: null,
  } as ConflictItem;
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('ConflictsReview', () => {
  let calls: { method: string; url: string; body?: string }[];
  let pages: ConflictItem[][];

  beforeEach(() => {
    calls = [];
    pages = [
      [
        conflict(11, [['ann', ['negative']], ['bob', ['positive']]], null),
        conflict(12, [['ann', ['negative']], ['bob', ['positive']], ['cy', ['negative']]], ['negative']),
      ],
    ];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: Request | string, init?: RequestInit) => {
        const request = input instanceof Request ? input : new Request(input, init);
        const url = new URL(request.url);
        calls.push({ method: request.method, url: url.pathname + url.search, body: request.method === 'POST' ? await request.text() : undefined });
        if (url.pathname.endsWith('/conflicts')) {
          const data = pages.shift() ?? [];
          return json({ data, count: data.length });
        }
        if (url.pathname.endsWith('/resolution')) return request.method === 'POST' ? json({ item_id: 1, labels: [], source: 'review', user_id: 1, created_at: '', annotations_disagree: true, detail: 'ok' }, 201) : new Response(null, { status: 204 });
        if (url.pathname.endsWith('/status')) return json({ items_total: 10, items_ready: 10, labeled: 6, unlabeled: 4, suggested: 0, training: false, model_version: 2, labels_in_model: 5, metrics: null, annotators: [], conflicts: 2, conflicts_tied: 1, conflicts_resolved: 0 });
        return json({ detail: 'Not found' }, 404);
      }),
    );
  });

  afterEach(() => vi.unstubAllGlobals());

  function renderReview(project = projectAs('reviewer')) {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    return render(
      <QueryClientProvider client={client}>
        <ToastProvider>
          <ConflictsReview project={project} />
        </ToastProvider>
      </QueryClientProvider>,
    );
  }

  const key = (init: KeyboardEventInit) => act(() => void fireEvent.keyDown(window, init));
  const resolutions = () => calls.filter((c) => c.url.endsWith('/resolution'));
  const stageId = () => screen.getByTestId('current-item').getAttribute('data-item-id');
  const pressed = (name: string) => screen.getByRole('button', { name: new RegExp(name) }).getAttribute('aria-pressed');

  it('shows the item, every annotator by name, the model and the keys', async () => {
    renderReview();
    expect(await screen.findByText('Sentence 11')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /ann\s*negative/ })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /bob\s*positive/ })).toBeInTheDocument();
    expect(screen.getByTestId('standing')).toHaveTextContent('Tie: no majority among 2 annotators');
    expect(screen.getByLabelText('Model prediction')).toHaveTextContent('Predicts positive');
    const legend = screen.getByLabelText('Keyboard shortcuts');
    expect(legend).toHaveTextContent("Take one annotator's answer");
    expect(legend).toHaveTextContent('Confirm the resolution, next conflict');
  });

  it('a number key chooses a label, Enter confirms it and the next conflict follows', async () => {
    renderReview();
    await screen.findByText('Sentence 11');
    // a tie starts with nothing chosen: Enter alone decides nothing
    key({ key: 'Enter' });
    expect(resolutions()).toHaveLength(0);
    expect(stageId()).toBe('11');
    key({ key: '3' });
    expect(pressed('^3\\s*neutral')).toBe('true');
    key({ key: '2' });
    expect(pressed('^2\\s*positive')).toBe('true');
    expect(pressed('^3\\s*neutral')).toBe('false');
    key({ key: 'Enter' });
    expect(stageId()).toBe('12');
    await waitFor(() => expect(resolutions()).toHaveLength(1));
    expect(resolutions()[0]).toMatchObject({ method: 'POST', url: '/api/v1/projects/5/items/11/resolution', body: JSON.stringify({ labels: ['positive'] }) });
    // the majority starts chosen: Enter takes it
    expect(pressed('^1\\s*negative')).toBe('true');
    key({ key: 'Enter' });
    await waitFor(() => expect(resolutions()).toHaveLength(2));
    expect(resolutions()[1].body).toBe(JSON.stringify({ labels: ['negative'] }));
    expect(await screen.findByText('No open conflicts')).toBeInTheDocument();
    expect(screen.getByText(/You resolved 2 in this session/)).toBeInTheDocument();
  });

  it("Shift+N takes the N-th annotator's answer; S skips without deciding", async () => {
    renderReview();
    await screen.findByText('Sentence 11');
    key({ key: 'S' });
    expect(stageId()).toBe('12');
    key({ key: '@', code: 'Digit2', shiftKey: true });
    expect(pressed('bob')).toBe('true');
    expect(pressed('^2\\s*positive')).toBe('true');
    key({ key: '(', code: 'Digit9', shiftKey: true }); // nobody ninth: nothing changes
    expect(pressed('^2\\s*positive')).toBe('true');
    key({ key: 'Enter' });
    await waitFor(() => expect(resolutions()).toHaveLength(1));
    expect(resolutions()[0]).toMatchObject({ url: '/api/v1/projects/5/items/12/resolution', body: JSON.stringify({ labels: ['positive'] }) });
  });

  it('going back reopens what was just resolved, keeping the choice shown', async () => {
    renderReview();
    await screen.findByText('Sentence 11');
    key({ key: '1' });
    key({ key: 'Enter' });
    expect(stageId()).toBe('12');
    key({ key: 'ArrowLeft' });
    expect(stageId()).toBe('11');
    await waitFor(() => expect(resolutions().map((c) => c.method)).toEqual(['POST', 'DELETE']));
    expect(resolutions()[1].url).toBe('/api/v1/projects/5/items/11/resolution');
    expect(pressed('^1\\s*negative')).toBe('true');
    expect(screen.getByTestId('resolved-count')).toHaveTextContent('0 resolved');
  });

  it('multi-label: keys toggle, 0 clears, Enter confirms any set', async () => {
    pages = [[conflict(21, [['ann', ['cat', 'dog']], ['bob', ['cat']]], null)]];
    renderReview(projectAs('owner', 'image_multilabel', ['cat', 'dog', 'bird']));
    await waitFor(() => expect(stageId()).toBe('21'));
    key({ key: '!', code: 'Digit1', shiftKey: true });
    expect([pressed('^1\\s*cat'), pressed('^2\\s*dog')]).toEqual(['true', 'true']);
    key({ key: '2' });
    key({ key: '3' });
    expect([pressed('^1\\s*cat'), pressed('^2\\s*dog'), pressed('^3\\s*bird')]).toEqual(['true', 'false', 'true']);
    key({ key: '0' });
    key({ key: 'Enter' });
    await waitFor(() => expect(resolutions()).toHaveLength(1));
    expect(resolutions()[0].body).toBe(JSON.stringify({ labels: [] }));
  });

  it.each(['annotator', 'viewer'] as const)('is hidden from an %s', (role) => {
    expect(projectTabs(projectAs(role)).map((tab) => tab.page)).not.toContain('conflicts');
    renderReview(projectAs(role));
    expect(screen.getByText('Only owners and reviewers resolve conflicts')).toBeInTheDocument();
    expect(calls).toHaveLength(0);
  });

  it.each(['owner', 'reviewer'] as const)('is a tab for an %s', (role) => {
    expect(projectTabs(projectAs(role)).map((tab) => tab.page)).toContain('conflicts');
  });
});

describe('conflict helpers', () => {
  it('reads Shift+digit by the physical key, nothing else', () => {
    const base = { ctrlKey: false, metaKey: false, altKey: false, target: null };
    expect(annotatorIndexForKey({ ...base, shiftKey: true, code: 'Digit3' })).toBe(2);
    expect(annotatorIndexForKey({ ...base, shiftKey: false, code: 'Digit3' })).toBe(-1);
    expect(annotatorIndexForKey({ ...base, shiftKey: true, code: 'KeyA' })).toBe(-1);
    expect(annotatorIndexForKey({ ...base, shiftKey: true, ctrlKey: true, code: 'Digit1' })).toBe(-1);
  });

  it('says how the item stands', () => {
    const majority = conflict(1, [['a', ['x']], ['b', ['x']], ['c', ['y']]], ['x']);
    expect(standing(majority)).toBe('Majority: x (2 of 3 annotators agree exactly)');
    expect(standing(conflict(2, [['a', ['x']], ['b', ['y']]], null))).toMatch(/^Tie/);
  });
});
