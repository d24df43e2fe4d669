/**
 * The viewer the renderer's state talks to (and the end-to-end tests read, as window.haloViewer): Cornerstone3D
 * initialised once, and per study the viewports (viewports.ts), their overlays (overlays.ts), the mouse tools
 * (tools.ts) and the zoom/pan link between them (synchronisers.ts), loaded and disposed together.
 *
 * Slices are addressed by k of the reference grid; the viewports are always moved together.
 */
import { eventTarget, init as csInit } from '@cornerstonejs/core';
import { Enums as ToolEnums, init as toolsInit } from '@cornerstonejs/tools';
import type { GridView, Role } from '../../../main/app/contract';
import { BrainOverlay } from './brain-overlay';
import { MASK_SEGMENTATION, Overlays, type OverlayState } from './overlays';
import { linkZoomPan, unlinkZoomPan } from './synchronisers';
import { bindEditTool, createToolGroup, destroyToolGroup, registerTools, undoStroke, type EditTool } from './tools';
import { nonZeroSlice, Viewports, type LoadedVolume, type WindowPreset } from './viewports';

let initialised: Promise<void> | null = null;
async function initOnce(): Promise<void> {
  if (!initialised) {
    initialised = (async () => {
      csInit();
      toolsInit();
      registerTools();
    })();
  }
  return initialised;
}

export class Viewer {
  private vp = new Viewports();
  private overlays = new Overlays(this.vp);
  private brain = new BrainOverlay(this.vp);
  private editTool: EditTool = 'none';
  /** Called after the user painted, erased or undid on the mask. */
  onMaskEdited: () => void = () => undefined;

  constructor() {
    this.vp.onSliceMoved = (k) => this.overlays.flushStale(k);
  }

  async load(studyId: string, grid: GridView, volumes: LoadedVolume[], elements: Map<Role, HTMLDivElement>): Promise<void> {
    await initOnce();
    this.dispose();
    this.vp.open(studyId, grid, volumes, elements);
    this.overlays.createVolumes();
    createToolGroup(this.vp.engine!.id, this.vp.viewportIds);
    await this.vp.showVolumes();
    linkZoomPan(this.vp.engine!.id, this.vp.viewportIds);
    await this.overlays.attach();
    this.editTool = 'none';
    eventTarget.addEventListener(ToolEnums.Events.SEGMENTATION_DATA_MODIFIED, this.onSegmentationModified);
    this.vp.setSlice(Math.floor(grid.dims[2] / 2));
    this.vp.observeResize();
  }

  dispose(): void {
    eventTarget.removeEventListener(ToolEnums.Events.SEGMENTATION_DATA_MODIFIED, this.onSegmentationModified);
    this.brain.remove();
    this.overlays.detach();
    destroyToolGroup();
    unlinkZoomPan();
    this.vp.dispose();
    this.overlays.forgetVolumes();
    this.vp.forgetVolumes();
  }

  // The viewports.
  get slice(): number {
    return this.vp.slice;
  }
  get sliceCount(): number {
    return this.vp.sliceCount;
  }
  get renderCount(): number {
    return this.vp.renderCount;
  }
  get preset(): WindowPreset | 'custom' {
    return this.vp.preset;
  }
  set onSliceChange(f: (k: number) => void) {
    this.vp.onSliceChange = f;
  }
  set onViewChange(f: () => void) {
    this.vp.onViewChange = f;
  }
  /** Show slice k now. */
  setSlice(k: number): void {
    this.vp.setSlice(k);
  }
  /** Scroll to slice k: in a burst of steps only the last slice is drawn. */
  requestSlice(k: number): void {
    this.vp.requestSlice(k);
  }
  /** Scroll `delta` slices from the one last asked for. */
  scroll(delta: number): void {
    this.vp.requestSlice(this.vp.requestedSlice + delta);
  }
  labels(): ReturnType<Viewports['labels']> {
    return this.vp.labels();
  }
  setWindow(role: Role | 'all', preset: WindowPreset): void {
    this.vp.setWindow(role, preset);
  }
  setWindowValues(role: Role, width: number, level: number): void {
    this.vp.setWindowValues(role, width, level);
  }
  viewInfo(): ReturnType<Viewports['viewInfo']> {
    return this.vp.viewInfo();
  }
  resetView(): void {
    this.vp.resetView();
  }
  zoom(factor: number): void {
    this.vp.zoom(factor);
  }
  resize(): void {
    this.vp.resize();
  }
  voxelAt(role: Role, x: number, y: number): ReturnType<Viewports['voxelAt']> {
    return this.vp.voxelAt(role, x, y);
  }
  voxelToCanvas(role: Role, i: number, j: number): [number, number] | null {
    return this.vp.voxelToCanvas(role, i, j);
  }
  canvas(role: Role): HTMLCanvasElement | null {
    return this.vp.canvas(role);
  }
  /** 1 where the image of `role` on slice k is not 0 (the brain, in skull-stripped or masked series). */
  nonZeroOf(role: Role, k: number): Uint8Array | null {
    return this.vp.grid ? nonZeroSlice(this.vp.volumeId(role), this.vp.grid, k) : null;
  }

  // The overlays.
  setOverlay(o: Partial<OverlayState>): void {
    this.overlays.set(o);
  }
  drawSlice(k: number, mask: Uint8Array, variance: Float32Array, render = true): void {
    this.overlays.drawSlice(k, mask, variance, render);
  }
  clearResults(): void {
    this.overlays.clear();
  }
  maskOf(k: number): Uint8Array | null {
    return this.overlays.maskOf(k);
  }
  debugOverlayCounts(): ReturnType<Overlays['debugOverlayCounts']> {
    return this.overlays.debugOverlayCounts();
  }
  debugVariance(k: number): ReturnType<Overlays['debugVariance']> {
    return this.overlays.debugVariance(k);
  }
  debugMaskPoints(role: Role, n = 200): ReturnType<Overlays['debugMaskPoints']> {
    return this.overlays.debugMaskPoints(role, n);
  }

  // The brain Halo segments inside (a study with the skull): outlined on every viewport.
  showBrain(mask: Uint8Array): Promise<void> {
    return this.brain.show(mask);
  }
  setBrainVisible(visible: boolean): void {
    this.brain.setVisible(visible);
  }
  get brainShown(): boolean {
    return this.brain.shown;
  }
  brainOf(k: number): Uint8Array | null {
    return this.brain.slice(k);
  }

  // The tools.
  /** Primary button: window/level ('none'), paint the mask ('brush') or erase it ('eraser'). */
  setEditTool(tool: EditTool, size?: number): void {
    if (!bindEditTool(tool, size)) return;
    this.editTool = tool;
    this.vp.render();
  }
  get activeEditTool(): EditTool {
    return this.editTool;
  }
  /** Undo the last paint or erase stroke. */
  undoEdit(): void {
    undoStroke();
    this.vp.render();
    this.onMaskEdited();
  }

  private onSegmentationModified = (e: Event) => {
    const id = (e as CustomEvent<{ segmentationId: string }>).detail?.segmentationId;
    if (id === MASK_SEGMENTATION && this.editTool !== 'none') {
      this.overlays.edited(this.vp.slice);
      this.onMaskEdited();
    }
  };
}
