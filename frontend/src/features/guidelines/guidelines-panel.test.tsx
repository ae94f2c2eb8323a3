import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Guidelines, Project } from '@/lib/api/types';
import { ToastProvider } from '@/components/ui/toast';
import { GuidelinesCard } from './guidelines-editor';
import { GuidelinesPanel, openKey, seenKey } from './guidelines-panel';
import { SafeMarkdown } from './markdown';

const UNSAFE = [
  '# Rules',
  '',
  'Read **carefully**. <script>window.hacked = true</script>',
  '',
  '<img src="x" onerror="window.hacked = true">',
  '',
  '<a href="javascript:alert(1)">html link</a>',
  '',
  '[markdown link](javascript:alert(2)) and [auto](JAVASCRIPT:alert(3)) and [data](data:text/html,<b>x</b>)',
  '',
  '[docs](https://example.com/guide)',
].join('\n');

describe('SafeMarkdown', () => {
  it('renders Markdown but no HTML, scripts or javascript: links', () => {
    const { container } = render(<SafeMarkdown>{UNSAFE}</SafeMarkdown>);
    expect(screen.getByRole('heading', { name: 'Rules' })).toBeInTheDocument();
    expect(container.querySelector('strong')).toHaveTextContent('carefully');
    // the HTML is shown as the characters it is, never made into elements
    expect(container.querySelector('script')).toBeNull();
    expect(container.querySelector('img')).toBeNull();
    expect(container.textContent).toContain('<script>window.hacked = true</script>');
    expect(container.textContent).toContain('<img src="x" onerror="window.hacked = true">');
    expect((window as unknown as { hacked?: boolean }).hacked).toBeUndefined();
    const links = Array.from(container.querySelectorAll('a'));
    expect(links.map((a) => a.textContent)).toEqual(['docs']);
    expect(links[0]).toHaveAttribute('href', 'https://example.com/guide');
    expect(links[0]).toHaveAttribute('rel', 'noopener noreferrer');
    for (const element of Array.from(container.querySelectorAll('*'))) {
      for (const attribute of Array.from(element.attributes)) {
        expect(attribute.name.startsWith('on')).toBe(false);
        expect(attribute.value.toLowerCase()).not.toContain('javascript:');
      }
    }
    expect(screen.getByText('markdown link').tagName).toBe('SPAN');
  });
});

const guidelines: Guidelines = {
  instructions: UNSAFE,
  labels: [
    { label: 'negative', description: 'Complaints, *even polite ones*.', examples: [{ id: 4, name: 'r4', kind: 'text', text: 'The soup was cold', labels: ['negative'] }] },
    { label: 'positive', description: '', examples: [] },
  ],
  updated_at: '2026-12-01T09:00:00Z',
  updated_by: 1,
  updated_by_name: 'ann',
};

const project = { id: 7, name: 'Reviews', task: 'text_classification', labels: ['negative', 'positive'], role: 'owner' } as Project;
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

function wrap(node: React.ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return (
    <QueryClientProvider client={client}>
      <ToastProvider>{node}</ToastProvider>
    </QueryClientProvider>
  );
}

describe('GuidelinesPanel', () => {
  let calls: { method: string; url: string; body?: string }[];
  beforeEach(() => {
    calls = [];
    window.localStorage.clear();
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: Request | string, init?: RequestInit) => {
        const request = input instanceof Request ? input : new Request(input, init);
        const url = new URL(request.url);
        calls.push({ method: request.method, url: url.pathname + url.search, body: request.method === 'PUT' ? await request.text() : undefined });
        if (url.pathname.endsWith('/guidelines')) return json(request.method === 'PUT' ? { ...guidelines, updated_at: '2026-12-02T09:00:00Z' } : guidelines);
        return json({ data: [], count: 0 });
      }),
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  it('shows the guidelines inert, when they were updated, and marks them new until read', async () => {
    const { container, unmount } = render(wrap(<GuidelinesPanel projectId={7} />));
    expect(await screen.findByText('Changed')).toBeInTheDocument();
    expect(screen.getByText(/updated .* by ann/)).toBeInTheDocument();
    expect(container.querySelector('script')).toBeNull();
    expect(screen.getByTestId('guide-negative')).toHaveTextContent('The soup was cold');
    expect(screen.queryByTestId('guide-positive')).toBeNull(); // nothing to say about it
    expect(window.localStorage.getItem(seenKey(7))).toBe(guidelines.updated_at); // read: shown open
    unmount();
    render(wrap(<GuidelinesPanel projectId={7} />));
    await screen.findByText(/updated/);
    expect(screen.queryByText('Changed')).toBeNull();
  });

  it('remembers being closed', async () => {
    const first = render(wrap(<GuidelinesPanel projectId={7} />));
    const toggle = await screen.findByRole('button', { name: /Guidelines/ });
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    fireEvent.click(toggle);
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    expect(screen.queryByRole('heading', { name: 'Rules' })).toBeNull();
    expect(window.localStorage.getItem(openKey(7))).toBe('0');
    first.unmount();
    render(wrap(<GuidelinesPanel projectId={7} />));
    expect(await screen.findByRole('button', { name: /Guidelines/ })).toHaveAttribute('aria-expanded', 'false');
  });

  it('lets the owner edit with a preview that renders as the panel does, within the limits', async () => {
    const { container } = render(wrap(<GuidelinesCard project={project} />));
    const instructions = await screen.findByRole('textbox', { name: 'Instructions' });
    fireEvent.change(instructions, { target: { value: 'Be **kind** <script>x()</script>' } });
    fireEvent.click(screen.getAllByRole('tab', { name: 'Preview' })[0]);
    const preview = screen.getByTestId('markdown-preview');
    expect(preview.querySelector('strong')).toHaveTextContent('kind');
    expect(container.querySelector('script')).toBeNull();
    fireEvent.click(screen.getAllByRole('tab', { name: 'Write' })[0]);
    fireEvent.change(screen.getByRole('textbox', { name: 'Instructions' }), { target: { value: 'x'.repeat(20_001) } });
    expect(screen.getByRole('button', { name: 'Save guidelines' })).toBeDisabled();
    fireEvent.change(screen.getByRole('textbox', { name: 'Instructions' }), { target: { value: 'Short and clear' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save guidelines' }));
    await vi.waitFor(() => expect(calls.some((c) => c.method === 'PUT')).toBe(true));
    const sent = JSON.parse(calls.find((c) => c.method === 'PUT')?.body ?? '{}');
    expect(sent).toEqual({ instructions: 'Short and clear', labels: [{ label: 'negative', description: 'Complaints, *even polite ones*.', examples: [4] }] });
  });

  it('shows the guidelines read-only to other roles', async () => {
    render(wrap(<GuidelinesCard project={{ ...project, role: 'annotator' }} />));
    expect(await screen.findByRole('heading', { name: 'Rules' })).toBeInTheDocument();
    expect(screen.getByText('Only owners can change them.')).toBeInTheDocument();
    expect(screen.queryByRole('textbox')).toBeNull();
  });
});
