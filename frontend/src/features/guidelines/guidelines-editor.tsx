'use client';
import { useState, type FormEvent } from 'react';
import { errorMessage } from '@/lib/api/errors';
import { useGuidelines, useItems, useSaveGuidelines } from '@/lib/api/queries';
import type { Guidelines, Project } from '@/lib/api/types';
import { can } from '@/lib/permissions';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';
import { useToast } from '@/components/ui/toast';
import { GuidelinesContent } from './guidelines-panel';
import { SafeMarkdown } from './markdown';

// the API's limits (db/models.py), checked here first so the owner sees them while typing
export const MAX_INSTRUCTIONS = 20_000;
export const MAX_DESCRIPTION = 2_000;
export const MAX_EXAMPLES = 10;

interface Draft {
  instructions: string;
  labels: Record<string, { description: string; examples: { id: number; name: string }[] }>;
}

function draftOf(project: Project, guidelines: Guidelines): Draft {
  const labels: Draft['labels'] = {};
  for (const label of project.labels) {
    const guide = guidelines.labels.find((g) => g.label === label);
    labels[label] = { description: guide?.description ?? '', examples: guide?.examples.map((e) => ({ id: e.id, name: e.name })) ?? [] };
  }
  return { instructions: guidelines.instructions, labels };
}

/** A Markdown text area with a Preview tab that renders it as the labeling view will. */
function MarkdownField({ label, value, onChange, max, rows }: { label: string; value: string; onChange: (value: string) => void; max: number; rows: number }) {
  const [preview, setPreview] = useState(false);
  const over = value.length > max;
  return (
    <div className="field">
      <div className="row">
        <span className="field-label">{label}</span>
        <span className="spacer" />
        <div className="segmented" role="tablist" aria-label={`${label}: write or preview`}>
          <button type="button" role="tab" aria-selected={!preview} className={preview ? 'seg' : 'seg seg-active'} onClick={() => setPreview(false)}>
            Write
          </button>
          <button type="button" role="tab" aria-selected={preview} className={preview ? 'seg seg-active' : 'seg'} onClick={() => setPreview(true)}>
            Preview
          </button>
        </div>
      </div>
      {preview ? (
        <div className="markdown-preview" data-testid="markdown-preview">
          {value.trim() ? <SafeMarkdown>{value}</SafeMarkdown> : <p className="muted small">Nothing to preview.</p>}
        </div>
      ) : (
        <textarea className="input textarea" aria-label={label} rows={rows} value={value} onChange={(event) => onChange(event.target.value)} aria-invalid={over || undefined} />
      )}
      <div className={over ? 'field-error' : 'field-hint'}>
        {value.length.toLocaleString()} / {max.toLocaleString()} characters · Markdown; HTML is shown as text
      </div>
    </div>
  );
}

/** Add an example: one of the items labeled with this label (the API checks it too). */
function ExamplePicker({ project, label, chosen, onPick }: { project: Project; label: string; chosen: number[]; onPick: (item: { id: number; name: string }) => void }) {
  const items = useItems(project.id, { status: 'labeled', label, limit: 50 });
  const options = (items.data?.data ?? []).filter((item) => !chosen.includes(item.id));
  if (items.isPending) return <Loading />;
  if (!options.length) return <p className="muted small">No other items labeled “{label}” yet.</p>;
  return (
    <select
      className="input"
      aria-label={`Add an example of ${label}`}
      value=""
      onChange={(event) => {
        const item = options.find((o) => o.id === Number(event.target.value));
        if (item) onPick({ id: item.id, name: item.name });
      }}
    >
      <option value="">Add an example…</option>
      {options.map((item) => (
        <option key={item.id} value={item.id}>
          {item.text ? item.text.slice(0, 80) : item.name}
        </option>
      ))}
    </select>
  );
}

function LabelGuideFields({ project, label, value, onChange }: { project: Project; label: string; value: Draft['labels'][string]; onChange: (value: Draft['labels'][string]) => void }) {
  const [picking, setPicking] = useState(false);
  return (
    <fieldset className="guide-fields">
      <legend>{label}</legend>
      <MarkdownField label={`Description of ${label}`} value={value.description} onChange={(description) => onChange({ ...value, description })} max={MAX_DESCRIPTION} rows={3} />
      <ul className="chips" aria-label={`Examples of ${label}`}>
        {value.examples.map((example) => (
          <li key={example.id} className="chip">
            {example.name}
            <button type="button" className="chip-btn" aria-label={`Remove example ${example.name}`} onClick={() => onChange({ ...value, examples: value.examples.filter((e) => e.id !== example.id) })}>
              ×
            </button>
          </li>
        ))}
      </ul>
      {value.examples.length < MAX_EXAMPLES &&
        (picking ? (
          <ExamplePicker project={project} label={label} chosen={value.examples.map((e) => e.id)} onPick={(item) => onChange({ ...value, examples: [...value.examples, item] })} />
        ) : (
          <Button size="sm" variant="ghost" onClick={() => setPicking(true)}>
            + Example
          </Button>
        ))}
    </fieldset>
  );
}

function Editor({ project, guidelines }: { project: Project; guidelines: Guidelines }) {
  const [draft, setDraft] = useState(() => draftOf(project, guidelines));
  const save = useSaveGuidelines(project.id);
  const notify = useToast();
  const tooLong = draft.instructions.length > MAX_INSTRUCTIONS || Object.values(draft.labels).some((g) => g.description.length > MAX_DESCRIPTION);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (tooLong) return;
    const labels = Object.entries(draft.labels)
      .filter(([, g]) => g.description.trim() || g.examples.length)
      .map(([label, g]) => ({ label, description: g.description, examples: g.examples.map((e) => e.id) }));
    save.mutate({ instructions: draft.instructions, labels }, { onSuccess: () => notify('Guidelines saved', 'success') });
  };
  return (
    <form className="stack" onSubmit={submit} aria-label="Guidelines">
      <MarkdownField label="Instructions" value={draft.instructions} onChange={(instructions) => setDraft({ ...draft, instructions })} max={MAX_INSTRUCTIONS} rows={8} />
      {project.labels.map((label) => (
        <LabelGuideFields key={label} project={project} label={label} value={draft.labels[label]} onChange={(value) => setDraft({ ...draft, labels: { ...draft.labels, [label]: value } })} />
      ))}
      {save.error ? <ErrorMessage error={new Error(errorMessage(save.error))} /> : null}
      <div className="row">
        <Button type="submit" variant="primary" busy={save.isPending} disabled={tooLong}>
          Save guidelines
        </Button>
      </div>
    </form>
  );
}

/** Settings card: owners edit the guidelines, others read them. */
export function GuidelinesCard({ project }: { project: Project }) {
  const guidelines = useGuidelines(project.id);
  const owner = can(project, 'changeSettings');
  return (
    <Card title="Labeling guidelines" actions={<span className="muted small">{owner ? 'Shown beside the labeler' : 'Only owners can change them.'}</span>}>
      {guidelines.error ? (
        <ErrorMessage error={guidelines.error} />
      ) : !guidelines.data ? (
        <Loading />
      ) : owner ? (
        <Editor key={guidelines.data.updated_at ?? 'new'} project={project} guidelines={guidelines.data} />
      ) : (
        <GuidelinesContent projectId={project.id} guidelines={guidelines.data} />
      )}
    </Card>
  );
}
