/** Table rows of the two kinds most measures are: a value printed without a goal, and one with an upper bound. */
import type { TableRow } from './report';

export const info = (row: string, measure: string, value: number, unit: string): TableRow => ({
  row,
  measure,
  value,
  unit,
  goal: '—',
  met: null,
});

export const atMost = (row: string, measure: string, value: number, unit: string, limit: number): TableRow => ({
  row,
  measure,
  value,
  unit,
  goal: `≤ ${limit}${unit === '' || unit === '×' ? '' : ` ${unit}`}`,
  met: value <= limit,
});
