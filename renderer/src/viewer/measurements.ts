/**
 * The user's measurements as the rest of the app sees them: Cornerstone's annotations of the measurement tools
 * (tools.ts), read back with the viewport (sequence) they were drawn on, the slice k of the reference grid they
 * lie in, their points in patient coordinates and the values Cornerstone shows beside them.
 */
import { annotation as annotations, type Types as ToolTypes } from '@cornerstonejs/tools';
import type { GridView, Role } from '../../../main/app/contract';
import { storedValues } from '../../../main/dicom/measurement-values';
import { dot, sub, type V3 } from './geometry';
import { MEASURE_TOOL_NAMES, type MeasureTool } from './tools';

export interface MeasurementView {
  uid: string;
  kind: MeasureTool;
  role: Role;
  /** Slice of the reference grid every point lies in; null when the points are on different slices (not saved). */
  k: number | null;
  points: V3[];
  /**
   * As shown: mm (length, long and short axis) and mm² (area) from the points, by the formula the SR stores them
   * with; image values (mean, stdDev, min, max) as Cornerstone computed them.
   */
  values: { length?: number; long?: number; short?: number; area?: number; mean?: number; stdDev?: number; min?: number; max?: number };
}

const KIND_OF_TOOL = new Map(Object.entries(MEASURE_TOOL_NAMES).map(([kind, name]) => [name, kind as MeasureTool]));

/** Slice k of `grid` that all points lie in (within 0.01 of a slice), or null. */
function sliceOf(grid: GridView, points: V3[]): number | null {
  const ks = points.map((p) => dot(sub(p, grid.origin as V3), grid.direction[2] as V3) / grid.spacing[2]);
  const k = Math.round(ks[0]);
  return ks.every((x) => Math.abs(x - k) < 0.01) && k >= 0 && k < grid.dims[2] ? k : null;
}

const finite = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

/** The measurements on the study's viewports; `roleOf` names the sequence of a Cornerstone volume id. */
export function readMeasurements(grid: GridView, roleOf: (volumeId: string) => Role | null): MeasurementView[] {
  const out: MeasurementView[] = [];
  for (const a of annotations.state.getAllAnnotations() as ToolTypes.Annotation[]) {
    const kind = a.metadata ? KIND_OF_TOOL.get(a.metadata.toolName) : undefined;
    const volumeId = (a.metadata as { volumeId?: string } | undefined)?.volumeId;
    const role = volumeId ? roleOf(volumeId) : null;
    const points = (a.data.handles?.points ?? []) as V3[];
    if (!kind || !role || !a.annotationUID || points.length < 2) continue;
    // The statistics of the volume it was drawn on (it is also drawn, with their own values, on the other sequences).
    // Cornerstone names a target `volumeId:<id>?sliceIndex=…` (matched whole: the T1's id is the start of the T1ce's).
    const stats = Object.entries((a.data.cachedStats ?? {}) as Record<string, Record<string, unknown>>).find(([target]) => target.startsWith(`volumeId:${volumeId}?`))?.[1] ?? {};
    const geometry = storedValues(kind, points);
    const values: MeasurementView['values'] =
      kind === 'ellipse' ? { ...geometry, mean: finite(stats.mean), stdDev: finite(stats.stdDev), min: finite(stats.min), max: finite(stats.max) } : geometry;
    out.push({ uid: a.annotationUID, kind, role, k: sliceOf(grid, points), points: points.map((p) => [p[0], p[1], p[2]]), values });
  }
  return out;
}

export function removeMeasurement(uid: string): void {
  annotations.state.removeAnnotation(uid);
}

/** Forget every annotation (a new study, or the same one reloaded). */
export function removeAllMeasurements(): void {
  annotations.state.removeAllAnnotations();
}
