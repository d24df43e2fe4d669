/**
 * The viewer the renderer's state talks to (and the end-to-end tests read, as window.haloViewer): Cornerstone3D
 * initialised once, and per study the viewports (viewports.ts), their overlays (overlays.ts), the mouse tools
 * (tools.ts), the measurements (measurements.ts) and the zoom/pan link between them (synchronisers.ts), loaded
 * and disposed together.
 *
 * Slices are addressed by k of the reference grid; the views in the acquisition plane are always moved together.
 * The layout chooses the views (viewports.ts: a sequence in one plane); changing it keeps the volumes and the
 * results and rebuilds only the viewports, their overlays and tools.
 */
import { eventTarget, init as csInit } from '@cornerstonejs/core';
import { Enums as ToolEnums, init as toolsInit } from '@cornerstonejs/tools';
import type { GridView, Role } from '../../../main/app/contract';
import type { V3 } from './geometry';
import { BrainOverlay } from './brain-overlay';
import { MASK_SEGMENTATION, Overlays, type OverlayState } from './overlays';
import { referenceLine, type Axis, type PlaneName } from './planes';
import { createReformatToolGroup, destroyReformatToolGroup } from './reformat-tools';
import { linkZoomPan, unlinkZoomPan } from './synchronisers';
import { readMeasurements, removeAllMeasurements, removeMeasurement, type MeasurementView } from './measurements';
import { bindEditTool, createToolGroup, destroyToolGroup, registerTools, undoStroke, type EditTool } from './tools';
import { nonZeroSlice, Viewports, type LoadedVolume, type ViewSpec, type WindowPreset } from './viewports';

/** A reference line in a view: where the plane `plane` cuts it, in canvas CSS px. */
export interface ReferenceLine {
  plane: PlaneName;
  axis: Axis;
  from: [number, number];
  to: [number, number];
}

/** A measurement was drawn, moved (or its values computed) or deleted. */
const ANNOTATION_EVENTS = [ToolEnums.Events.ANNOTATION_COMPLETED, ToolEnums.Events.ANNOTATION_MODIFIED, ToolEnums.Events.ANNOTATION_REMOVED];

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
  private brushSize: number | undefined;
  /** Called after the user painted, erased or undid on the mask. */
  onMaskEdited: () => void = () => undefined;
  /** Called (once a frame at most) when a measurement was added, moved, deleted or got its values. */
  onMeasurementsChanged: () => void = () => undefined;
  private measurementFrame = 0;
  private measurementLate: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    this.vp.onSliceMoved = (k) => this.overlays.flushStale(k);
  }

  async load(studyId: string, grid: GridView, volumes: LoadedVolume[], views: ViewSpec[], elements: Map<string, HTMLDivElement>): Promise<void> {
    await initOnce();
    this.dispose();
    this.vp.open(studyId, grid, volumes);
    this.overlays.createVolumes();
    this.overlays.addSegmentations();
    await this.showViews(views, elements);
    this.editTool = 'none';
    eventTarget.addEventListener(ToolEnums.Events.SEGMENTATION_DATA_MODIFIED, this.onSegmentationModified);
    for (const e of ANNOTATION_EVENTS) eventTarget.addEventListener(e, this.onAnnotationChanged);
    this.vp.setSlice(Math.floor(grid.dims[2] / 2));
  }

  /** Show other views of the study open (a layout change): the images, results and edits stay. */
  async setViews(views: ViewSpec[], elements: Map<string, HTMLDivElement>): Promise<void> {
    if (!this.vp.engine) return;
    this.overlays.detachViews();
    this.brain.detach();
    this.unbindViews();
    await this.showViews(views, elements);
    await this.brain.attach();
    bindEditTool(this.editTool, this.brushSize);
    this.vp.render();
  }

  private async showViews(views: ViewSpec[], elements: Map<string, HTMLDivElement>): Promise<void> {
    await this.vp.setViews(views, elements);
    const engineId = this.vp.engine!.id;
    createToolGroup(engineId, this.vp.viewportIdsOf('acquisition'));
    createReformatToolGroup(engineId, this.vp.viewportIdsOf('reformat'));
    // Zoom and pan are shared by the views of one plane: the sequences side by side.
    linkZoomPan(engineId, this.vp.viewportIdsOf('acquisition'));
    await this.overlays.attach();
    this.vp.observeResize();
  }

  private unbindViews(): void {
    destroyToolGroup();
    destroyReformatToolGroup();
    unlinkZoomPan();
  }

  dispose(): void {
    eventTarget.removeEventListener(ToolEnums.Events.SEGMENTATION_DATA_MODIFIED, this.onSegmentationModified);
    for (const e of ANNOTATION_EVENTS) eventTarget.removeEventListener(e, this.onAnnotationChanged);
    cancelAnimationFrame(this.measurementFrame);
    clearTimeout(this.measurementLate);
    // Measurements belong to the study on screen: never carried over to the next one.
    removeAllMeasurements();
    this.onMeasurementsChanged();
    this.brain.remove();
    this.overlays.detach();
    this.unbindViews();
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
  set onCrosshairChange(f: (centre: [number, number]) => void) {
    this.vp.onCentreChange = f;
  }
  /** Column i and row j where the reformats cut the grid. */
  get crosshair(): [number, number] {
    return this.vp.crosshair;
  }
  /** Move the reformats to column i and row j. */
  setCrosshair(i: number, j: number): void {
    this.vp.setCrosshair(i, j);
  }
  /** The anatomical plane of the grid plane normal to i, j and k (k: the acquisition plane). */
  planeNames(): [PlaneName, PlaneName, PlaneName] | null {
    return this.vp.planeNames();
  }
  /**
   * The reference lines of a view: where each other plane shown (the slice k in view, the reformats at the
   * crosshair) cuts it, in canvas px. Exact grid geometry, drawn by the grid component as SVG over the image.
   */
  referenceLines(viewId: string): ReferenceLine[] {
    const view = this.vp.views.find((v) => v.id === viewId);
    const names = this.vp.planeNames();
    if (!view || !names || !this.vp.grid || !this.vp.hasReformats) return [];
    const index = (axis: Axis) => (axis === 2 ? this.vp.slice : this.vp.crosshair[axis]);
    const shown = new Set(this.vp.views.map((v) => v.axis));
    const out: ReferenceLine[] = [];
    for (const axis of [0, 1, 2] as Axis[]) {
      if (axis === view.axis || !shown.has(axis)) continue;
      const ends = referenceLine(this.vp.grid, { axis: view.axis, index: index(view.axis) }, { axis, index: index(axis) });
      const from = ends && this.vp.worldToCanvas(viewId, ends[0] as V3);
      const to = ends && this.vp.worldToCanvas(viewId, ends[1] as V3);
      if (from && to) out.push({ plane: names[axis], axis, from, to });
    }
    return out;
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
  /** Orientation letters of a view's edges (the first view's without one). */
  labels(viewId?: string): ReturnType<Viewports['labels']> {
    return this.vp.labels(viewId);
  }
  /** The views on screen. */
  get views(): ViewSpec[] {
    return this.vp.views.map((v) => ({ ...v }));
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
  /** The voxel under a point of a view (its id: the sequence's name in the acquisition plane). */
  voxelAt(viewId: string, x: number, y: number): ReturnType<Viewports['voxelAt']> {
    return this.vp.voxelAt(viewId, x, y);
  }
  voxelToCanvas(viewId: string, i: number, j: number, k?: number): [number, number] | null {
    return this.vp.voxelToCanvas(viewId, i, j, k);
  }
  /** Canvas pixel (CSS px) of a world point (LPS, mm) in a view. */
  worldToCanvas(viewId: string, w: [number, number, number]): [number, number] | null {
    return this.vp.worldToCanvas(viewId, w);
  }
  canvas(viewId: string): HTMLCanvasElement | null {
    return this.vp.canvas(viewId);
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
  debugMaskPoints(viewId: string, n = 200, margin = 3): ReturnType<Overlays['debugMaskPoints']> {
    return this.overlays.debugMaskPoints(viewId, n, margin);
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
    this.brushSize = size ?? this.brushSize;
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

  // The measurements.
  /** Every measurement on this study, with the sequence and slice it was drawn on and the values shown. */
  measurements(): MeasurementView[] {
    const grid = this.vp.grid;
    if (!grid) return [];
    return readMeasurements(grid, (volumeId) => this.vp.roles.find((r) => this.vp.volumeId(r) === volumeId) ?? null);
  }
  removeMeasurement(uid: string): void {
    removeMeasurement(uid);
    this.vp.render();
  }

  private onAnnotationChanged = () => {
    cancelAnimationFrame(this.measurementFrame);
    this.measurementFrame = requestAnimationFrame(() => this.onMeasurementsChanged());
    // Cornerstone recomputes an ROI's statistics on a 100 ms throttle after the last move, not always with an
    // event of its own: read them again once that has passed.
    clearTimeout(this.measurementLate);
    this.measurementLate = setTimeout(() => {
      this.onMeasurementsChanged();
      this.measurementLate = setTimeout(() => this.onMeasurementsChanged(), 500); // and once more, on a slow machine
    }, 200);
  };

  private onSegmentationModified = (e: Event) => {
    const id = (e as CustomEvent<{ segmentationId: string }>).detail?.segmentationId;
    if (id === MASK_SEGMENTATION && (this.editTool === 'brush' || this.editTool === 'eraser')) {
      this.overlays.edited(this.vp.slice);
      this.onMaskEdited();
    }
  };
}
