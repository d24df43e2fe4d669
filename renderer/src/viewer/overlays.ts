/**
 * The two overlays of every viewport, on exactly the reference grid: the tumour mask as a Cornerstone labelmap
 * segmentation (fill and/or outline, the one the brush edits) and the ensemble variance as a second labelmap
 * whose labels are the bins of the variance colour map, with its own opacity. (A float fusion volume was tried
 * first; with Cornerstone 5's volume viewport in SwiftShader the second volume did not show, while labelmaps
 * render reliably.) A slice's voxels are pushed to Cornerstone only when it is in view.
 */
import { cache, type Types } from '@cornerstonejs/core';
import { Enums as ToolEnums, segmentation } from '@cornerstonejs/tools';
import type { Role } from '../../../main/app/contract';
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

  constructor(private readonly vp: Viewports) {}

  /** The overlays' (empty) volumes for the study just opened in the viewports. */
  createVolumes(): void {
    const grid = this.vp.grid!;
    const [nx, ny, nz] = grid.dims;
    createGridVolume(this.varianceId(), grid, new Uint8Array(nx * ny * nz));
    createGridVolume(this.maskId(), grid, new Uint8Array(nx * ny * nz));
  }

  /** Show both overlays in every viewport; the mask is the segmentation the brush and eraser edit. */
  async attach(): Promise<void> {
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
    this.apply();
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
    // Only the slice in view is pushed and drawn now; another slice waits until it is scrolled to.
    this.written.add(k);
    this.stale.add(k);
    if (k === this.vp.slice) {
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
   * Canvas points (CSS px in the viewport element) of up to n voxels of the slice in view well inside the drawn
   * mask and n voxels of brain well away from it (tests: are the overlays drawn where the result says?).
   */
  debugMaskPoints(role: Role, n = 200): { inside: [number, number][]; outside: [number, number][] } {
    const out = { inside: [] as [number, number][], outside: [] as [number, number][] };
    const vol = cache.getVolume(this.maskId());
    const img = cache.getVolume(this.vp.volumeId(role));
    if (!vol || !img || !this.vp.grid) return out;
    const [nx, ny] = this.vp.grid.dims;
    const base = this.vp.slice * nx * ny;
    const m = (i: number, j: number) => (i < 0 || j < 0 || i >= nx || j >= ny ? 0 : Number(vol.voxelManager!.getAtIndex(base + j * nx + i)));
    const near = (i: number, j: number, r: number, v: number) => {
      for (let dj = -r; dj <= r; dj++) for (let di = -r; di <= r; di++) if (m(i + di, j + dj) === v) return true;
      return false;
    };
    const inside: [number, number][] = [];
    const outside: [number, number][] = [];
    for (let j = 0; j < ny; j += 2) {
      for (let i = 0; i < nx; i += 2) {
        if (m(i, j) === 1 && !near(i, j, 3, 0)) inside.push([i, j]);
        else if (m(i, j) === 0 && Number(img.voxelManager!.getAtIndex(base + j * nx + i)) !== 0 && !near(i, j, 4, 1)) outside.push([i, j]);
      }
    }
    const pick = (a: [number, number][]) => a.filter((_, x) => x % Math.max(1, Math.floor(a.length / n)) === 0).slice(0, n);
    out.inside = pick(inside).map(([i, j]) => this.vp.voxelToCanvas(role, i, j)!);
    out.outside = pick(outside).map(([i, j]) => this.vp.voxelToCanvas(role, i, j)!);
    return out;
  }

  /** Remove the segmentations (before the viewports go). */
  detach(): void {
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
