'use client';
import { useStrategies } from '@/lib/api/queries';
import { SelectField, TextField } from '@/components/ui/field';

const TITLES: Record<string, string> = {
  margin: 'Margin',
  entropy: 'Entropy',
  least_confidence: 'Least confidence',
  random: 'Random',
};

export const strategyTitle = (name: string) => TITLES[name] ?? name.replaceAll('_', ' ');

/** The strategy and the suggestion precision target: the same two fields when a project is
 * created and in its settings. The list and the default come from the server. */
export function QueueFields({
  strategy,
  onStrategy,
  precision,
  onPrecision,
}: {
  strategy: string;
  onStrategy: (value: string) => void;
  precision: number;
  onPrecision: (value: number) => void;
}) {
  const strategies = useStrategies();
  const options = strategies.data?.data ?? [];
  const chosen = options.find((s) => s.name === strategy);
  return (
    <>
      <SelectField label="What to label next" value={strategy} onChange={(e) => onStrategy(e.target.value)} hint={chosen?.description ?? (strategies.isPending ? 'Loading strategies…' : undefined)}>
        {options.length === 0 && <option value={strategy}>{strategyTitle(strategy)}</option>}
        {options.map((s) => (
          <option key={s.name} value={s.name}>
            {strategyTitle(s.name)}
            {s.default ? ' (recommended)' : ''}
          </option>
        ))}
      </SelectField>
      <TextField
        label="Suggestion precision target"
        type="number"
        min={0.51}
        max={0.999}
        step={0.01}
        value={precision}
        onChange={(e) => onPrecision(Number(e.target.value))}
        hint="Suggestions are only offered where held-out human labels show, with 95 % confidence, at least this precision."
      />
    </>
  );
}
