'use client';
import { useState, type DragEvent } from 'react';
import { useScore } from '@/lib/api/queries';
import { modalityOf, type Project, type ScoreResult } from '@/lib/api/types';
import { ErrorMessage } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { TextAreaField } from '@/components/ui/field';

function Scores({ result }: { result: ScoreResult }) {
  const row = result.scores[0] ?? [];
  const ranked = result.labels.map((label, i) => ({ label, p: row[i] ?? 0 })).sort((a, b) => b.p - a.p);
  return (
    <div className="stack-sm" data-testid="score-result">
      <ul className="score-list">
        {ranked.map(({ label, p }) => (
          <li key={label} className="score-row">
            <span className="score-label">{label}</span>
            <span className="score-bar">
              <span className="score-fill" style={{ width: `${Math.round(p * 100)}%` }} />
            </span>
            <span className="score-value">{Math.round(p * 100)}%</span>
          </li>
        ))}
      </ul>
      <span className="muted small">model v{result.model_version}</span>
    </div>
  );
}

/** Paste a text or drop an image and see what the active model says. */
export function TryModel({ project }: { project: Project }) {
  const modality = modalityOf(project.task);
  const [text, setText] = useState('');
  const [preview, setPreview] = useState<string | null>(null);
  const score = useScore(project.id);
  const takeFile = (file: File | undefined) => {
    if (!file) return;
    setPreview((old) => {
      if (old) URL.revokeObjectURL(old);
      return URL.createObjectURL(file);
    });
    score.mutate({ file });
  };
  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    takeFile(event.dataTransfer.files[0]);
  };
  return (
    <div className="stack">
      {modality === 'text' ? (
        <>
          <TextAreaField label="Text" value={text} onChange={(e) => setText(e.target.value)} placeholder="Paste a sentence to classify" />
          <div className="row">
            <Button variant="primary" onClick={() => score.mutate({ text })} disabled={!text.trim()} busy={score.isPending}>
              Score
            </Button>
          </div>
        </>
      ) : (
        <label className="dropzone" onDragOver={(e) => e.preventDefault()} onDrop={onDrop} style={{ cursor: 'pointer', padding: 20 }}>
          {preview ? <img src={preview} alt="Scored" style={{ maxHeight: 180, maxWidth: '100%', borderRadius: 8 }} /> : <span className="dropzone-title">Drop an image, or click to choose one</span>}
          <input type="file" accept="image/*" hidden onChange={(e) => takeFile(e.target.files?.[0])} />
        </label>
      )}
      <ErrorMessage error={score.error} />
      {score.data && <Scores result={score.data} />}
    </div>
  );
}
