'use client';
import { useState } from 'react';
import { useSimilar, useSimilarText, type SimilarItem } from '@/lib/api/quality';
import type { Project } from '@/lib/api/types';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { TextField } from '@/components/ui/field';
import { Loading } from '@/components/ui/spinner';

/** Neighbours in embedding space, most similar first; a click opens one. */
export function SimilarList({ items, onOpen }: { items: SimilarItem[]; onOpen: (itemId: number) => void }) {
  if (!items.length) return <p className="muted small">Nothing similar found.</p>;
  return (
    <ul className="similar-list" data-testid="similar-list">
      {items.map(({ item, similarity }) => (
        <li key={item.id}>
          <button type="button" className="similar-entry" onClick={() => onOpen(item.id)}>
            <span className="similar-text">{item.kind === 'text' ? item.text : item.name}</span>
            <span className="muted small tabular">
              {similarity.toFixed(2)}
              {item.labels?.length ? ` · ${item.labels.join(', ')}` : ''}
            </span>
          </button>
        </li>
      ))}
    </ul>
  );
}

/** The drawer's "More like this". */
export function MoreLikeThis({ project, itemId, onOpen }: { project: Project; itemId: number; onOpen: (itemId: number) => void }) {
  const similar = useSimilar(project.id, itemId);
  return (
    <div className="stack-sm">
      <strong>More like this</strong>
      {similar.isPending ? <Loading /> : similar.error ? <ErrorMessage error={similar.error} /> : <SimilarList items={similar.data.data} onOpen={onOpen} />}
    </div>
  );
}

/** Text projects: items like a typed text, encoded by the project's backbone. */
export function SearchByMeaning({ project, onOpen }: { project: Project; onOpen: (itemId: number) => void }) {
  const [draft, setDraft] = useState('');
  const [text, setText] = useState('');
  const found = useSimilarText(project.id, text);
  return (
    <form
      className="stack-sm"
      onSubmit={(event) => {
        event.preventDefault();
        setText(draft.trim());
      }}
    >
      <div className="row" style={{ alignItems: 'end' }}>
        <div style={{ flex: 1 }}>
          <TextField label="Find items like a text" placeholder="Type a sentence; items with a similar meaning come first" value={draft} onChange={(e) => setDraft(e.target.value)} />
        </div>
        <Button type="submit" disabled={!draft.trim()} busy={found.isFetching}>
          Search
        </Button>
        {text && (
          <Button variant="ghost" onClick={() => { setDraft(''); setText(''); }}>
            Clear
          </Button>
        )}
      </div>
      {text && (found.error ? <ErrorMessage error={found.error} /> : found.data ? <SimilarList items={found.data.data} onOpen={onOpen} /> : <Loading />)}
    </form>
  );
}
