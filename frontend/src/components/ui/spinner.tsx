export function Spinner({ size = 16, label }: { size?: number; label?: string }) {
  // biome-ignore lint/a11y/useAriaPropsSupportedByRole: aria-label comes only with a label, and then role="status"
  return <span className="spinner" style={{ width: size, height: size }} role={label ? 'status' : undefined} aria-label={label} />;
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status">
      <Spinner /> <span>{label}</span>
    </div>
  );
}
