import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from 'react';

interface FieldProps {
  label: string;
  hint?: ReactNode;
  error?: string | null;
}

function Wrap({ id, label, hint, error, children }: FieldProps & { id: string; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id} className="field-label">
        {label}
      </label>
      {children}
      {error ? <div className="field-error">{error}</div> : hint ? <div className="field-hint">{hint}</div> : null}
    </div>
  );
}

export function TextField({ label, hint, error, id, ...input }: FieldProps & InputHTMLAttributes<HTMLInputElement>) {
  const auto = useId();
  const fieldId = id ?? auto;
  return (
    <Wrap id={fieldId} label={label} hint={hint} error={error}>
      <input id={fieldId} className="input" aria-invalid={error ? true : undefined} {...input} />
    </Wrap>
  );
}

export function SelectField({ label, hint, error, id, children, ...select }: FieldProps & SelectHTMLAttributes<HTMLSelectElement>) {
  const auto = useId();
  const fieldId = id ?? auto;
  return (
    <Wrap id={fieldId} label={label} hint={hint} error={error}>
      <select id={fieldId} className="input" {...select}>
        {children}
      </select>
    </Wrap>
  );
}

export function TextAreaField({ label, hint, error, id, ...area }: FieldProps & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const auto = useId();
  const fieldId = id ?? auto;
  return (
    <Wrap id={fieldId} label={label} hint={hint} error={error}>
      <textarea id={fieldId} className="input textarea" {...area} />
    </Wrap>
  );
}
