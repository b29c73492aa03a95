/**
 * The benchmark's report: one row per figure, one column per topology, then
 * containet's ratio to each reference measured in the same run.
 */

/** `our / reference` as "0.66x", or "-" when either is missing. */
export function ratio(ours, reference) {
  if (ours == null || reference == null || reference === 0) return '-';
  const r = ours / reference;
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
}

/**
 * rows: [{ label, values: { bridge, vde, containet }, format(v) }]
 * A missing value (the topology failed or was skipped) prints as "-".
 */
export function renderTable(rows, columns) {
  const header = ['', ...columns.map((c) => c.title), 'containet/bridge', 'containet/vde'];
  const body = rows.map((row) => [
    row.label,
    ...columns.map((c) => (row.values[c.key] == null ? '-' : row.format(row.values[c.key]))),
    row.ratios === false ? '' : ratio(row.values.containet, row.values.bridge),
    row.ratios === false ? '' : ratio(row.values.containet, row.values.vde),
  ]);
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((cells) => cells[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
