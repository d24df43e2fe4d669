/**
 * The brain Halo segments inside (the one it extracted from the FLAIR of a study with the skull), outlined on
 * every viewport: a labelmap of its own, on the reference grid, drawn as an outline only and never edited. Kept
 * apart from the result overlays (overlays.ts) because it comes once per study, whole, and not slice by slice.
 */
import { cache } from '@cornerstonejs/core';
import { Enums as ToolEnums, segmentation } from '@cornerstonejs/tools';
import { MASK_SEGMENTATION } from './overlays';
import { createGridVolume, nonZeroSlice, type Viewports } from './viewports';

const BRAIN_SEGMENTATION = 'halo-brain';
/** Light blue: apart from the mask's green and the variance's heat colours. */
const BRAIN_COLOUR: [number, number, number, number] = [90, 170, 255, 255];

export class BrainOverlay {
  private volumeId = '';
  private visible = false;

  constructor(private readonly vp: Viewports) {}

  /** Outline `mask` (1/0 per voxel of the reference grid) on every viewport of the open study. */
  async show(mask: Uint8Array): Promise<void> {
    const grid = this.vp.grid;
    if (!this.vp.engine || !grid) return;
    const [nx, ny, nz] = grid.dims;
    if (mask.length !== nx * ny * nz) throw new Error('the brain mask does not fit the reference grid');
    this.remove();
    this.volumeId = `${this.vp.prefix}-brain`;
    createGridVolume(this.volumeId, grid, mask.slice());
    segmentation.addSegmentations([
      {
        segmentationId: BRAIN_SEGMENTATION,
        representation: { type: ToolEnums.SegmentationRepresentations.Labelmap, data: { volumeId: this.volumeId } },
        config: { label: 'Brain (extracted)', segments: { 1: { label: 'Brain' } } },
      },
    ]);
    await this.attach();
  }

  /** Put the loaded brain on the viewports there are now (again after a layout change made new ones). */
  async attach(): Promise<void> {
    if (!this.vp.engine || !this.volumeId) return;
    const map: Record<string, { segmentationId: string }[]> = {};
    for (const id of this.vp.viewportIds) map[id] = [{ segmentationId: BRAIN_SEGMENTATION }];
    await segmentation.addLabelmapRepresentationToViewportMap(map);
    for (const id of this.vp.viewportIds) {
      segmentation.config.color.setSegmentIndexColor(id, BRAIN_SEGMENTATION, 1, BRAIN_COLOUR);
      // The brush and eraser edit the tumour mask, never the brain.
      segmentation.activeSegmentation.setActiveSegmentation(id, MASK_SEGMENTATION);
    }
    this.apply();
  }

  /** Take the brain off the viewports before they go (a layout change); the mask itself stays loaded. */
  detach(): void {
    if (!this.volumeId) return;
    for (const id of this.vp.viewportIds) {
      segmentation.removeSegmentationRepresentations(id, { segmentationId: BRAIN_SEGMENTATION, type: ToolEnums.SegmentationRepresentations.Labelmap });
    }
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    this.apply();
  }

  /** The brain on slice k as Cornerstone holds it, 1/0 per pixel (tests: what is outlined, where). */
  slice(k: number): Uint8Array | null {
    return this.volumeId && this.vp.grid ? nonZeroSlice(this.volumeId, this.vp.grid, k) : null;
  }

  /** Whether the outline is drawn now (a mask is loaded and shown). */
  get shown(): boolean {
    return this.visible && !!this.volumeId;
  }

  /** Forget the brain (before the viewports go, or a new one comes). */
  remove(): void {
    if (!this.volumeId) return;
    try {
      segmentation.removeSegmentation(BRAIN_SEGMENTATION);
    } catch {
      // already removed with every segmentation
    }
    if (cache.getVolumeLoadObject(this.volumeId)) cache.removeVolumeLoadObject(this.volumeId);
    this.volumeId = '';
  }

  private apply(): void {
    if (!this.vp.engine || !this.volumeId) return;
    for (const viewportId of this.vp.viewportIds) {
      const which = { segmentationId: BRAIN_SEGMENTATION, type: ToolEnums.SegmentationRepresentations.Labelmap };
      segmentation.config.visibility.setSegmentationRepresentationVisibility(viewportId, which, this.visible);
      segmentation.config.style.setStyle(
        { viewportId, ...which },
        { renderFill: false, renderOutline: true, outlineWidth: 1, outlineOpacity: 0.9, renderFillInactive: false, renderOutlineInactive: true, outlineWidthInactive: 1 },
      );
    }
    this.vp.render();
  }
}
