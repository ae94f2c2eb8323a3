import type { ReactNode } from 'react';
import { errorMessage } from '@/lib/api/errors';

export function Alert({ tone = 'error', children, title }: { tone?: 'error' | 'info' | 'success' | 'warning'; title?: string; children: ReactNode }) {
  return (
    <div className={`alert alert-${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      {title && <strong className="alert-title">{title}</strong>}
      <div>{children}</div>
    </div>
  );
}

/** Shows any thrown error as a readable sentence; renders nothing without one. */
export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  return (
    <Alert tone="error" title={title}>
      {errorMessage(error)}
    </Alert>
  );
}
