/**
 * A measurement's lengths and area from its points (patient coordinates, mm): the one formula behind both the
 * numbers the viewer lists and those the SR stores, so that what is saved is what was shown. (Cornerstone's own
 * cached statistics are recomputed on a throttle and can lag the last handle move.)
 */
type Point = readonly [number, number, number] | readonly number[];

export interface StoredValues {
  long?: number;
  short?: number;
  length?: number;
  area?: number;
}

export const dist = (a: Point, b: Point) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
/** Round to 0.001 mm (or value unit): more digits than any voxel warrants, and DS-safe. */
export const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** bidirectional: long axis ends, then short axis ends; length: its two ends; ellipse: the ends of its two axes. */
export function storedValues(kind: 'bidirectional' | 'length' | 'ellipse', p: readonly Point[]): StoredValues {
  if (kind === 'length') return { length: r3(dist(p[0], p[1])) };
  const a = dist(p[0], p[1]);
  const b = dist(p[2], p[3]);
  if (kind === 'bidirectional') return { long: r3(Math.max(a, b)), short: r3(Math.min(a, b)) };
  return { area: r3((Math.PI * a * b) / 4) };
}
