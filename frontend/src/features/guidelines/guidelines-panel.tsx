'use client';
import { useEffect, useState } from 'react';
import { useGuidelines } from '@/lib/api/queries';
import type { Guidelines, LabelGuide } from '@/lib/api/types';
import { parseTime, timeAgo } from '@/lib/time';
import { ItemImage, ItemText } from '@/components/item-media';
import { ErrorMessage } from '@/components/ui/alert';
import { Badge } from '@/components/ui/misc';
import { SafeMarkdown } from './markdown';

// What the panel remembers per project in this browser: open or closed, and the version of the
// guidelines last read (their `updated_at`), to mark them when they changed since.
export const openKey = (projectId: number) => `filament:guidelines:${projectId}:open`;
export const seenKey = (projectId: number) => `filament:guidelines:${projectId}:seen`;

function stored(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null; // storage refused (private mode): the panel simply forgets
  }
}

function store(key: string, value: string) {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // as above
  }
}

export function hasGuidelines(guidelines: Guidelines): boolean {
  return !!guidelines.instructions.trim() || guidelines.labels.some((g) => g.description.trim() || g.examples.length);
}

function LabelEntry({ projectId, guide }: { projectId: number; guide: LabelGuide }) {
  if (!guide.description.trim() && !guide.examples.length) return null;
  return (
    <div className="guide-label" data-testid={`guide-${guide.label}`}>
      <h4 className="guide-label-name">{guide.label}</h4>
      {guide.description.trim() && <SafeMarkdown>{guide.description}</SafeMarkdown>}
      {guide.examples.length > 0 && (
        <ul className="guide-examples" aria-label={`Examples of ${guide.label}`}>
          {guide.examples.map((example) => (
            <li key={example.id} title={example.name}>
              {example.kind === 'image' ? (
                <ItemImage projectId={projectId} itemId={example.id} alt={example.name} className="guide-example-image" />
              ) : (
                <ItemText text={example.text} className="guide-example-text" />
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The guidelines' content: instructions, then each described label with its examples. */
export function GuidelinesContent({ projectId, guidelines }: { projectId: number; guidelines: Guidelines }) {
  if (!hasGuidelines(guidelines)) return <p className="muted small">No guidelines yet. Owners write them in the project settings.</p>;
  return (
    <div className="stack-sm guidelines-content">
      {guidelines.instructions.trim() && <SafeMarkdown>{guidelines.instructions}</SafeMarkdown>}
      {guidelines.labels.map((guide) => (
        <LabelEntry key={guide.label} projectId={projectId} guide={guide} />
      ))}
    </div>
  );
}

/**
 * The project's guidelines as a collapsible panel: it remembers whether it was open, says when
 * they were last updated, and marks them "changed" when they changed since they were last read
 * here. Shown beside the labeler (and anywhere else labels are decided, e.g. a review page).
 */
export function GuidelinesPanel({ projectId, defaultOpen = true }: { projectId: number; defaultOpen?: boolean }) {
  const query = useGuidelines(projectId);
  const [open, setOpen] = useState(defaultOpen);
  const [seen, setSeen] = useState<string | null>(null);
  useEffect(() => {
    const remembered = stored(openKey(projectId));
    if (remembered !== null) setOpen(remembered === '1');
    setSeen(stored(seenKey(projectId)));
  }, [projectId]);

  const updated = query.data?.updated_at ?? null;
  const changed = !!updated && seen !== updated; // never read here counts as changed
  // read when shown open: the mark stays until the annotator has had them in front of them
  useEffect(() => {
    if (!open || !updated || seen === updated) return;
    store(seenKey(projectId), updated);
  }, [open, updated, seen, projectId]);

  const toggle = () => {
    const next = !open;
    setOpen(next);
    store(openKey(projectId), next ? '1' : '0');
    if (!next && updated) setSeen(updated); // closed after reading: no longer new
  };

  if (query.error) return <ErrorMessage error={query.error} title="Could not load the guidelines" />;
  if (!query.data) return null;
  const bodyId = `guidelines-${projectId}`;
  return (
    <section className="card guidelines-panel" data-testid="guidelines-panel">
      <header className="guidelines-header">
        <button type="button" className="guidelines-toggle" aria-expanded={open} aria-controls={bodyId} onClick={toggle}>
          <span aria-hidden="true">{open ? '▾' : '▸'}</span> Guidelines
        </button>
        {changed && (
          <Badge tone="accent" title="They changed since you last read them here">
            Changed
          </Badge>
        )}
        {updated && (
          <span className="muted small" title={parseTime(updated).toLocaleString()}>
            updated {timeAgo(updated)}
            {query.data.updated_by_name ? ` by ${query.data.updated_by_name}` : ''}
          </span>
        )}
      </header>
      {open && (
        <div id={bodyId}>
          <GuidelinesContent projectId={projectId} guidelines={query.data} />
        </div>
      )}
    </section>
  );
}
