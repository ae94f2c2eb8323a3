/** Rows: true label; columns: predicted. Cells shaded by the share of their row. */
export function ConfusionMatrix({ labels, matrix }: { labels: string[]; matrix: number[][] }) {
  return (
    <div className="cm-wrap">
      <table className="cm" aria-label="Confusion matrix: rows are true labels, columns predicted labels">
        <thead>
          <tr>
            <th className="cm-corner">
              true ↓
              <br />
              predicted →
            </th>
            {labels.map((label) => (
              <th key={label} className="cm-col" scope="col" title={label}>
                {label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {matrix.map((row, i) => {
            const total = row.reduce((sum, value) => sum + value, 0) || 1;
            return (
              <tr key={labels[i] ?? i}>
                <th scope="row" style={{ textAlign: 'right' }} title={labels[i]}>
                  {labels[i]}
                </th>
                {row.map((value, j) => {
                  const share = value / total;
                  const diagonal = i === j;
                  const hue = diagonal ? '91, 91, 214' : '205, 43, 49';
                  return (
                    <td
                      key={labels[j] ?? j}
                      style={{ background: `rgba(${hue}, ${value ? 0.08 + share * 0.82 : 0.03})`, color: share > 0.55 ? '#fff' : 'var(--text)' }}
                      title={`true ${labels[i]}, predicted ${labels[j]}: ${value}`}
                    >
                      {value}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
