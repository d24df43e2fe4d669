/**
 * The two overlays of every viewport, on exactly the reference grid: the tumour mask as a Cornerstone labelmap
 * segmentation (fill and/or outline, the one the brush edits) and the ensemble variance as a second labelmap
 * whose labels are the bins of the variance colour map, with its own opacity. (A float fusion volume was tried
 * first; with Cornerstone 5's volume viewport in SwiftShader the second volume did not show, while labelmaps
 * render reliably.) A slice's voxels are pushed to Cornerstone only when it is in view.
 */
import { cache, type Types } from '@cornerstonejs/core';
import { Enums as ToolEnums, segmentation } from '@cornerstonejs/tools';
import { VARIANCE_BINS, VARIANCE_THRESHOLD, varianceBin, varianceColour } from './variance-colours';
import { createGridVolume, nonZeroSlice, type Viewports } from './viewports';

export const MASK_SEGMENTATION = 'halo-tumour';
const VARIANCE_SEGMENTATION = 'halo-variance';

export interface OverlayState {
  mask: boolean;
  maskStyle: 'fill' | 'outline' | 'both';
  variance: boolean;
  varianceOpacity: number;
  /** Variance below this is not drawn. */
  varianceThreshold: number;
}

export class Overlays {
  private overlay: OverlayState = { mask: true, maskStyle: 'both', variance: true, varianceOpacity: 0.6, varianceThreshold: VARIANCE_THRESHOLD };
  /** Slices whose overlay voxels changed while out of view: pushed to Cornerstone when they come into view. */
  private stale = new Set<number>();
  /** Slices whose overlay voxels may hold something (a result or an edit): all that clear() has to empty. */
  private written = new Set<number>();
  private flushFrame = 0;

  constructor(private readonly vp: Viewports) {}

  /** The overlays' (empty) volumes for the study just opened in the viewports. */
  createVolumes(): void {
    const grid = this.vp.grid!;
    const [nx, ny, nz] = grid.dims;
    createGridVolume(this.varianceId(), grid, new Uint8Array(nx * ny * nz));
    createGridVolume(this.maskId(), grid, new Uint8Array(nx * ny * nz));
  }

  /** The two segmentations on the overlay volumes (once per study; the views come and go with the layout). */
  addSegmentations(): void {
    const varianceSegments: Record<number, { label: string }> = {};
    for (let b = 1; b <= VARIANCE_BINS; b++) varianceSegments[b] = { label: `variance bin ${b}` };
    segmentation.addSegmentations([
      {
        segmentationId: VARIANCE_SEGMENTATION,
        representation: { type: ToolEnums.SegmentationRepresentations.Labelmap, data: { volumeId: this.varianceId() } },
        config: { label: 'Ensemble variance', segments: varianceSegments },
      },
      {
        segmentationId: MASK_SEGMENTATION,
        representation: { type: ToolEnums.SegmentationRepresentations.Labelmap, data: { volumeId: this.maskId() } },
        config: { label: 'Whole tumour', segments: { 1: { label: 'Whole tumour' } } },
      },
    ]);
  }

  /**
   * Show both overlays in every view, in every plane (the labelmaps are volumes on the images' grid); the mask is
   * the segmentation the brush and eraser edit.
   */
  async attach(): Promise<void> {
    // One opacity for every drawn bin (the slider's), so the legend's colours are the colours drawn.
    const lut: Types.ColorLUT = [[0, 0, 0, 0]];
    for (let b = 1; b <= VARIANCE_BINS; b++) lut.push([...varianceColour((b - 0.5) / VARIANCE_BINS), 255]);
    const map: Record<string, { segmentationId: string; config?: { colorLUTOrIndex: Types.ColorLUT } }[]> = {};
    for (const id of this.vp.viewportIds) {
      map[id] = [{ segmentationId: VARIANCE_SEGMENTATION, config: { colorLUTOrIndex: lut } }, { segmentationId: MASK_SEGMENTATION }];
    }
    await segmentation.addLabelmapRepresentationToViewportMap(map);
    for (const id of this.vp.viewportIds) {
      segmentation.config.color.setSegmentIndexColor(id, MASK_SEGMENTATION, 1, [0, 230, 120, 255]);
      // The brush and eraser edit the tumour mask, never the variance layer.
      segmentation.activeSegmentation.setActiveSegmentation(id, MASK_SEGMENTATION);
    }
    segmentation.segmentIndex.setActiveSegmentIndex(MASK_SEGMENTATION, 1);
    // Slices that arrived while only the acquisition plane was shown: a reformat shows them all.
    if (this.vp.hasReformats) this.flushAll();
    this.apply();
  }

  /** Take the overlays off the views (before the layout changes them); the segmentations and their voxels stay. */
  detachViews(): void {
    for (const id of this.vp.viewportIds) {
      for (const segmentationId of [MASK_SEGMENTATION, VARIANCE_SEGMENTATION]) {
        segmentation.removeSegmentationRepresentations(id, { segmentationId, type: ToolEnums.SegmentationRepresentations.Labelmap });
      }
    }
  }

  set(o: Partial<OverlayState>): void {
    this.overlay = { ...this.overlay, ...o };
    this.apply();
  }

  /**
   * Draw one slice's result. `mask` decides the labelmap (the ensemble mask, or one member's); `variance` the
   * heat layer. Both are rows x cols of the reference grid.
   */
  drawSlice(k: number, mask: Uint8Array, variance: Float32Array, render = true): void {
    const grid = this.vp.grid;
    if (!this.vp.engine || !grid) return;
    const [nx, ny, nz] = grid.dims;
    const plane = nx * ny;
    if (k < 0 || k >= nz || mask.length !== plane || variance.length !== plane) throw new Error('result does not fit the reference grid');
    const maskVol = cache.getVolume(this.maskId());
    const varVol = cache.getVolume(this.varianceId());
    if (!maskVol || !varVol) return;
    const mv = maskVol.voxelManager as Types.IVoxelManager<number>;
    const vv = varVol.voxelManager as Types.IVoxelManager<number>;
    const base = k * plane;
    const threshold = this.overlay.varianceThreshold;
    for (let p = 0; p < plane; p++) {
      mv.setAtIndex(base + p, mask[p] ? 1 : 0);
      vv.setAtIndex(base + p, varianceBin(variance[p], threshold));
    }
    // Only the slice in view is pushed and drawn now; another slice waits until it is scrolled to, unless a
    // reformat shows it: then the slices that arrived within one frame are pushed together, once.
    this.written.add(k);
    this.stale.add(k);
    if (this.vp.hasReformats) {
      this.flushFrame ||= requestAnimationFrame(() => this.flushAll());
    } else if (k === this.vp.slice) {
      this.flushStale(k);
      if (render) this.vp.render();
    }
  }

  /**
   * Empty the overlays. Only the slices that hold something are rewritten, and the viewports are redrawn only if
   * the slice in view was one of them: on 2 cores with software WebGL a redraw costs ~1 s of the first overlay.
   */
  clear(): void {
    const grid = this.vp.grid;
    if (!grid) return;
    const [nx, ny] = grid.dims;
    const mask = new Uint8Array(nx * ny);
    const variance = new Float32Array(nx * ny);
    const slices = [...this.written];
    for (const k of slices) this.drawSlice(k, mask, variance, false);
    this.written.clear();
    if (slices.includes(this.vp.slice)) this.vp.render();
  }

  /** The brush or eraser changed the mask on slice k. */
  edited(k: number): void {
    this.written.add(k);
  }

  /** Push slice k's voxels to Cornerstone if they changed while it was out of view. */
  flushStale(k: number): void {
    if (!this.stale.delete(k)) return;
    segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(MASK_SEGMENTATION, [k]);
    segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(VARIANCE_SEGMENTATION, [k]);
  }

  /**
   * Push every slice whose voxels changed to Cornerstone (its texture is updated slice by slice, not the whole
   * volume); Cornerstone then redraws the views that show the overlays.
   */
  flushAll(): void {
    cancelAnimationFrame(this.flushFrame);
    this.flushFrame = 0;
    if (!this.stale.size || !this.vp.engine) return;
    const slices = [...this.stale];
    this.stale.clear();
    segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(MASK_SEGMENTATION, slices);
    segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(VARIANCE_SEGMENTATION, slices);
  }

  /** The mask as drawn now on slice k (after the user's edits). */
  maskOf(k: number): Uint8Array | null {
    return this.vp.grid ? nonZeroSlice(this.maskId(), this.vp.grid, k) : null;
  }

  /**
   * Per slice k, the number of voxels set in the mask overlay and in the variance overlay, for the slices where
   * either is non-zero (tests: which slices show a result, and how much of it).
   */
  debugOverlayCounts(): Record<number, { mask: number; variance: number }> {
    const out: Record<number, { mask: number; variance: number }> = {};
    const mv = cache.getVolume(this.maskId());
    const vv = cache.getVolume(this.varianceId());
    if (!mv || !vv || !this.vp.grid) return out;
    const [nx, ny, nz] = this.vp.grid.dims;
    const plane = nx * ny;
    for (let k = 0; k < nz; k++) {
      let m = 0;
      let v = 0;
      for (let p = 0; p < plane; p++) {
        if (Number(mv.voxelManager!.getAtIndex(k * plane + p))) m++;
        if (Number(vv.voxelManager!.getAtIndex(k * plane + p))) v++;
      }
      if (m || v) out[k] = { mask: m, variance: v };
    }
    return out;
  }

  /** Sum of the variance overlay on slice k, read back from Cornerstone's cache (tests/diagnostics). */
  debugVariance(k: number): { volume: number; image: number } {
    const vol = cache.getVolume(this.varianceId());
    if (!vol || !this.vp.grid) return { volume: -1, image: -1 };
    const plane = this.vp.grid.dims[0] * this.vp.grid.dims[1];
    let a = 0;
    for (let p = 0; p < plane; p++) a += Number(vol.voxelManager!.getAtIndex(k * plane + p));
    const img = cache.getImage(vol.imageIds[k]);
    const data = img?.voxelManager?.getScalarData() as ArrayLike<number> | undefined;
    let b = 0;
    if (data) for (let p = 0; p < data.length; p++) b += data[p];
    return { volume: a, image: b };
  }

  /**
   * Canvas points (CSS px in the view's element) of up to n voxels of the plane in view well inside the drawn
   * mask and n voxels of brain well away from it (tests: are the overlays drawn where the result says, in the
   * acquisition plane and in a reformat?). The view is a sequence's id in the acquisition plane, or a reformat's;
   * `margin` voxels of mask around an inside point (and one more of no mask around an outside one).
   */
  debugMaskPoints(viewId: string, n = 200, margin = 3): { inside: [number, number][]; outside: [number, number][] } {
    const out = { inside: [] as [number, number][], outside: [] as [number, number][] };
    const view = this.vp.views.find((v) => v.id === viewId);
    const vol = cache.getVolume(this.maskId());
    const img = view && cache.getVolume(this.vp.volumeId(view.role));
    if (!view || !vol || !img || !this.vp.grid) return out;
    const dims = this.vp.grid.dims;
    const [nx, ny] = dims;
    // The plane's two in-plane grid axes (u, v) and the voxel (i, j, k) of a point (u, v) on it.
    const [ua, va] = ([0, 1, 2] as const).filter((a) => a !== view.axis);
    const fixed = view.axis === 2 ? this.vp.slice : this.vp.crosshair[view.axis];
    const ijk = (u: number, v: number) => {
      const p = [0, 0, 0];
      p[view.axis] = fixed;
      p[ua] = u;
      p[va] = v;
      return p as [number, number, number];
    };
    const at = (volume: typeof vol, u: number, v: number) => {
      if (u < 0 || v < 0 || u >= dims[ua] || v >= dims[va]) return 0;
      const [i, j, k] = ijk(u, v);
      return Number(volume.voxelManager!.getAtIndex(k * nx * ny + j * nx + i));
    };
    const near = (u: number, v: number, r: number, value: number) => {
      for (let dv = -r; dv <= r; dv++) for (let du = -r; du <= r; du++) if ((at(vol, u + du, v + dv) ? 1 : 0) === value) return true;
      return false;
    };
    const inside: [number, number][] = [];
    const outside: [number, number][] = [];
    const step = margin > 1 ? 2 : 1;
    for (let v = 0; v < dims[va]; v += step) {
      for (let u = 0; u < dims[ua]; u += step) {
        const m = at(vol, u, v) ? 1 : 0;
        if (m === 1 && !near(u, v, margin, 0)) inside.push([u, v]);
        else if (m === 0 && at(img, u, v) !== 0 && !near(u, v, margin + 1, 1)) outside.push([u, v]);
      }
    }
    const pick = (a: [number, number][]) => a.filter((_, x) => x % Math.max(1, Math.floor(a.length / n)) === 0).slice(0, n);
    const canvas = ([u, v]: [number, number]) => {
      const [i, j, k] = ijk(u, v);
      return this.vp.voxelToCanvas(viewId, i, j, k)!;
    };
    out.inside = pick(inside).map(canvas);
    out.outside = pick(outside).map(canvas);
    return out;
  }

  /** Remove the segmentations (before the viewports go). */
  detach(): void {
    cancelAnimationFrame(this.flushFrame);
    this.flushFrame = 0;
    this.stale.clear();
    this.written.clear();
    try {
      segmentation.removeAllSegmentationRepresentations();
      segmentation.removeAllSegmentations();
    } catch {
      // nothing to remove
    }
  }

  /** Remove this study's overlay volumes from the cache (only what is still there: removing twice throws). */
  forgetVolumes(): void {
    if (!this.vp.prefix) return;
    for (const id of [this.maskId(), this.varianceId()]) if (cache.getVolumeLoadObject(id)) cache.removeVolumeLoadObject(id);
  }

  private apply(): void {
    if (!this.vp.engine) return;
    const { mask, maskStyle, variance, varianceOpacity } = this.overlay;
    for (const viewportId of this.vp.viewportIds) {
      segmentation.config.visibility.setSegmentationRepresentationVisibility(
        viewportId,
        { segmentationId: MASK_SEGMENTATION, type: ToolEnums.SegmentationRepresentations.Labelmap },
        mask,
      );
      segmentation.config.style.setStyle(
        { viewportId, segmentationId: MASK_SEGMENTATION, type: ToolEnums.SegmentationRepresentations.Labelmap },
        {
          renderFill: maskStyle !== 'outline',
          renderOutline: maskStyle !== 'fill',
          fillAlpha: 0.3,
          outlineWidth: 2,
          outlineOpacity: 1,
          renderFillInactive: maskStyle !== 'outline',
          renderOutlineInactive: maskStyle !== 'fill',
          fillAlphaInactive: 0.3,
          outlineWidthInactive: 2,
        },
      );
      segmentation.config.visibility.setSegmentationRepresentationVisibility(
        viewportId,
        { segmentationId: VARIANCE_SEGMENTATION, type: ToolEnums.SegmentationRepresentations.Labelmap },
        variance && varianceOpacity > 0,
      );
      segmentation.config.style.setStyle(
        { viewportId, segmentationId: VARIANCE_SEGMENTATION, type: ToolEnums.SegmentationRepresentations.Labelmap },
        {
          renderFill: true,
          renderOutline: false,
          fillAlpha: varianceOpacity,
          renderFillInactive: true,
          renderOutlineInactive: false,
          fillAlphaInactive: varianceOpacity,
        },
      );
    }
    this.vp.render();
  }

  private maskId = () => `${this.vp.prefix}-mask`;
  private varianceId = () => `${this.vp.prefix}-variance`;
}
