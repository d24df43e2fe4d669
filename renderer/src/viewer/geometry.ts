/** Small vector helpers and orientation labels (LPS), independent of Cornerstone so they can be unit-tested. */
export type V3 = [number, number, number];

export const dot = (a: V3, b: V3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const add = (a: V3, b: V3, s = 1): V3 => [a[0] + s * b[0], a[1] + s * b[1], a[2] + s * b[2]];
export const sub = (a: V3, b: V3): V3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const scale = (a: V3, s: number): V3 => [a[0] * s, a[1] * s, a[2] * s];
export const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/**
 * The patient direction a vector points to, as DICOM letters (L/R, P/A, S/I in LPS), strongest first; a
 * second letter is added for oblique directions (component above 0.3).
 */
export function orientationLetters(v: V3): string {
  const letters = [
    [v[0], 'L', 'R'],
    [v[1], 'P', 'A'],
    [v[2], 'S', 'I'],
  ] as const;
  const parts = letters
    .map(([c, pos, neg]) => ({ mag: Math.abs(c), l: c >= 0 ? pos : neg }))
    .filter((p) => p.mag > 0.3)
    .sort((a, b) => b.mag - a.mag);
  return parts.slice(0, 2).map((p) => p.l).join('') || '?';
}

/**
 * Labels for the four edges of a view with the given screen-up and screen-right directions (world LPS).
 * The top edge shows where "up" points in the patient, the left edge where "left on screen" points.
 */
export function edgeLabels(viewUp: V3, viewRight: V3): { top: string; bottom: string; left: string; right: string } {
  return {
    top: orientationLetters(viewUp),
    bottom: orientationLetters(scale(viewUp, -1)),
    left: orientationLetters(scale(viewRight, -1)),
    right: orientationLetters(viewRight),
  };
}

/** Voxel (i, j, k) of a grid -> world (LPS). */
export function voxelToWorld(
  g: { origin: V3; spacing: V3; direction: [V3, V3, V3] },
  i: number,
  j: number,
  k: number,
): V3 {
  let p: V3 = [...g.origin];
  p = add(p, g.direction[0], i * g.spacing[0]);
  p = add(p, g.direction[1], j * g.spacing[1]);
  p = add(p, g.direction[2], k * g.spacing[2]);
  return p;
}

/** The acquisition-plane camera of a grid: rows top to bottom, columns left to right, as the DICOM images are stored. */
export function acquisitionCamera(direction: [V3, V3, V3]): { viewUp: V3; viewPlaneNormal: V3; viewRight: V3 } {
  const viewUp = scale(direction[1], -1);
  const viewPlaneNormal = scale(cross(direction[0], direction[1]), -1);
  return { viewUp, viewPlaneNormal, viewRight: direction[0] };
}

/** Percentiles (0-100) of the non-zero voxels (sampled: at most about 200,000 of them), in the order asked. */
export function percentiles(data: ArrayLike<number>, ps: number[]): number[] {
  const sample: number[] = [];
  const step = Math.max(1, Math.floor(data.length / 200_000));
  for (let i = 0; i < data.length; i += step) if (data[i] !== 0) sample.push(data[i]);
  if (!sample.length) return ps.map(() => 0);
  sample.sort((a, b) => a - b);
  return ps.map((p) => sample[Math.min(sample.length - 1, Math.max(0, Math.floor((p / 100) * sample.length)))]);
}

/** Robust display window: the p-th and (100-p)-th percentiles of the non-zero voxels (sampled). */
export function percentileWindow(data: ArrayLike<number>, lowP = 0.5, highP = 99.5): { lower: number; upper: number } {
  const [lower, upper] = percentiles(data, [lowP, highP]);
  if (lower === 0 && upper === 0) return { lower: 0, upper: 1 };
  return upper > lower ? { lower, upper } : { lower, upper: lower + 1 };
}

/**
 * The "Lesion" window of a sequence: the brightest 2 % of its non-zero voxels white and its median at 30 % grey,
 * so a hyperintense lesion (FLAIR, T2) or enhancement (T1ce) stands out while the brain stays visible. (A window
 * cut from the automatic one instead turned a T1ce, whose top percentile is a few very bright vessels, almost
 * black.)
 */
export function lesionWindow(data: ArrayLike<number>): { lower: number; upper: number } {
  const [median, upper] = percentiles(data, [50, 98]);
  if (!(upper > median)) return percentileWindow(data);
  return { lower: median - (0.3 / 0.7) * (upper - median), upper };
}
