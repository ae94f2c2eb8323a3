import { Kbd } from '@/components/ui/misc';

export interface Shortcut {
  keys: string[];
  action: string;
}

export function ShortcutLegend({ shortcuts }: { shortcuts: Shortcut[] }) {
  return (
    <section className="legend" aria-label="Keyboard shortcuts">
      <h3 className="legend-title">Keyboard</h3>
      <dl>
        {shortcuts.map((shortcut) => (
          <div key={shortcut.action} className="legend-row">
            <dt>
              {shortcut.keys.map((key) => (
                <Kbd key={key}>{key}</Kbd>
              ))}
            </dt>
            <dd>{shortcut.action}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
