import { nextSort, type Sort, type SortKey } from './item-filters';

const ARROW = { descending: '▼', ascending: '▲', none: '↕' } as const;

/** A column header that sorts the list on the server: descending first, then ascending, then off. */
export function SortHeader({ label, sortKey, sort, onSort, title }: { label: string; sortKey: SortKey; sort: Sort; onSort: (next: Sort) => void; title?: string }) {
  const state = sort === `-${sortKey}` ? 'descending' : sort === sortKey ? 'ascending' : 'none';
  return (
    <th className="num" aria-sort={state}>
      <button type="button" className="sort-button" title={title} onClick={() => onSort(nextSort(sort, sortKey))}>
        {label} <span aria-hidden>{ARROW[state]}</span>
      </button>
    </th>
  );
}
