'use client';
import { useEffect, type ReactNode } from 'react';
import { Button } from './button';

/** A modal question with a cancel and a confirm button; Escape or the backdrop cancels. */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  onConfirm,
  onCancel,
  busy,
  tone = 'danger',
}: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
  busy?: boolean;
  tone?: 'danger' | 'primary';
}) {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => event.key === 'Escape' && !busy && onCancel();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onCancel, busy]);
  return (
    <>
      {/* biome-ignore lint/a11y/noStaticElementInteractions lint/a11y/useKeyWithClickEvents: a mouse target only; Escape cancels (the window listener above) */}
      <div className="dialog-backdrop" onClick={() => !busy && onCancel()} />
      <div className="dialog" role="alertdialog" aria-modal="true" aria-labelledby="confirm-title" aria-describedby="confirm-body">
        <h2 id="confirm-title" className="dialog-title">
          {title}
        </h2>
        <div id="confirm-body" className="dialog-body">
          {children}
        </div>
        <div className="row-end">
          {/* The safe choice has the focus, so Enter does not delete by accident. */}
          <Button variant="ghost" onClick={onCancel} disabled={busy} autoFocus>
            Cancel
          </Button>
          <Button variant={tone} onClick={onConfirm} busy={busy}>
            {confirmLabel}
          </Button>
        </div>
      </div>
    </>
  );
}
