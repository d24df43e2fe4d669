/**
 * The user's measurements on the open study (RANO diameters, lengths, elliptical ROIs): the list shown with their
 * values, deleting one, and what Save sends to be written as a DICOM SR. They belong to the study on screen and
 * are forgotten when another study opens (the viewer drops them with its viewports).
 */
import { reactive } from 'vue';
import type { MeasurementArg } from '../../../main/app/contract';
import type { MeasurementView } from '../viewer/measurements';
import { viewer } from './view';

export const measureState = reactive({
  list: [] as MeasurementView[],
});

/** Read the measurements again (the viewer calls this when one is drawn, moved, computed or deleted). */
export function refreshMeasurements(): void {
  measureState.list = viewer.measurements();
}

export function deleteMeasurement(uid: string): void {
  viewer.removeMeasurement(uid);
  refreshMeasurements();
}

/** The measurements Save can store: those in one slice, an ROI once its statistics are known. */
export function measurementsToSave(): MeasurementArg[] {
  const out: MeasurementArg[] = [];
  for (const m of measureState.list) {
    if (m.k === null) continue;
    const p = m.points;
    if (m.kind === 'length' && p.length === 2) out.push({ kind: 'length', role: m.role, k: m.k, points: [p[0], p[1]] });
    else if (m.kind === 'bidirectional' && p.length === 4) out.push({ kind: 'bidirectional', role: m.role, k: m.k, points: [p[0], p[1], p[2], p[3]] });
    else if (m.kind === 'ellipse' && p.length === 4) {
      const { mean, stdDev, min, max } = m.values;
      if (mean === undefined || stdDev === undefined || min === undefined || max === undefined) continue;
      out.push({ kind: 'ellipse', role: m.role, k: m.k, points: [p[0], p[1], p[2], p[3]], stats: { mean, stdDev, min, max } });
    }
  }
  return out;
}
