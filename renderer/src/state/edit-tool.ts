/**
 * Correcting the mask: the brush and eraser on the primary button, and what a stroke or an undo leaves, kept as
 * a correction of the ensemble's mask (corrections.ts). Only a run of ours, shown as the ensemble, is corrected.
 */
import { reactive } from 'vue';
import type { EditTool } from '../viewer/tools';
import { appState } from './app';
import type { MaskComponent } from '../mask-components';
import { correctedMask, forgetCorrections, setCorrection } from './corrections';
import { drawnMask, redraw, resultAt, resultsState, setDrawnMask } from './results';
import { PRIOR_RUN, runState } from './run';
import { studyState } from './study';
import { viewer, viewState } from './view';

export const editToolState = reactive({
  editTool: 'none' as EditTool,
  brushSize: 6,
});

/** The primary button's tool: window/level ('none'), brush or eraser on the mask, or a measurement tool. */
export function setEditTool(tool: EditTool): void {
  const masking = tool === 'brush' || tool === 'eraser';
  if (masking && (!runState.run || runState.run.runId === PRIOR_RUN)) return; // only our own result can be corrected
  if (masking && resultsState.member >= 0) {
    resultsState.member = -1;
    redraw(viewState.k);
  }
  editToolState.editTool = tool;
  viewer.setEditTool(tool, editToolState.brushSize);
}

export function setBrushSize(size: number): void {
  editToolState.brushSize = size;
  viewer.setEditTool(editToolState.editTool, size);
}

export function undoEdit(): void {
  viewer.undoEdit();
}

/** Drop every correction and put the primary button back to window/level. */
export function forgetEdits(): void {
  forgetCorrections();
  if (editToolState.editTool !== 'none') setEditTool('none');
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/** After a stroke or an undo on the slice in view: keep the user's mask as an edit of the ensemble's. */
export function collectEdit(): void {
  const k = viewState.k;
  const now = viewer.maskOf(k);
  const before = drawnMask(k);
  if (!now || (before && same(now, before))) return;
  const r = resultAt(k);
  if (!r || resultsState.member >= 0) {
    // Only a result shown as the ensemble can be corrected (and saved): put back what was there.
    if (r) redraw(k);
    else if (now.some((v) => v)) viewer.drawSlice(k, new Uint8Array(now.length), new Float32Array(now.length));
    appState.notice = r ? 'Show the ensemble (not one sample) to correct the mask.' : 'Segment this slice before correcting it.';
    return;
  }
  setDrawnMask(k, now);
  const spacing = studyState.study?.reference?.spacing ?? [1, 1, 1];
  setCorrection(k, same(now, r.mask) ? null : now, spacing[0] * spacing[1]);
}

/** Remove a whole 3D component of the mask: one correction on each of its slices, saved as the user's edit. */
export function removeComponent(c: MaskComponent): void {
  if (!runState.run || runState.run.runId === PRIOR_RUN) {
    appState.notice = 'Only a segmentation run of this session can be corrected; run it, then remove the component.';
    return;
  }
  resultsState.member = -1; // the correction is of the ensemble's mask
  const spacing = studyState.study?.reference?.spacing ?? [1, 1, 1];
  for (const [k, pixels] of c.pixels) {
    const r = resultAt(k);
    if (!r) continue;
    const mask = (correctedMask(k) ?? r.mask).slice();
    for (const p of pixels) mask[p] = 0;
    setCorrection(k, same(mask, r.mask) ? null : mask, spacing[0] * spacing[1]);
    redraw(k);
  }
}
