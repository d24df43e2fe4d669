/**
 * Cornerstone3D glue: one rendering engine, one orthographic viewport per sequence, all on the reference
 * (FLAIR) grid, in its acquisition plane. Each viewport shows its sequence plus two overlays that live on exactly
 * the same grid: the tumour mask as a Cornerstone labelmap segmentation (fill and/or outline) and the ensemble
 * variance as a second labelmap whose labels are fine bins of a continuous colour map from a visible threshold
 * to the largest possible variance (label 0 = below the threshold = not drawn), with its own opacity. (A float fusion volume was tried first; with Cornerstone 5's
 * volume viewport in SwiftShader the second volume did not show, while labelmaps render reliably.)
 *
 * Slices are addressed by k of the reference grid; the viewports are always moved together.
 */
import {
  Enums,
  RenderingEngine,
  cache,
  eventTarget,
  init as csInit,
  utilities as csUtils,
  volumeLoader,
  type Types,
} from '@cornerstonejs/core';
import {
  BrushTool,
  Enums as ToolEnums,
  PanTool,
  SynchronizerManager,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  addTool,
  init as toolsInit,
  segmentation,
  synchronizers,
} from '@cornerstonejs/tools';
import type { GridView, Role } from '../../../main/app/contract';
import { acquisitionCamera, add, dot, edgeLabels, percentileWindow, sub, voxelToWorld, type V3 } from './geometry';

/** Colour stops of the variance map, x = 0 at the threshold, 1 at VARIANCE_MAX: [x, r, g, b] in 0..1. */
export const VARIANCE_STOPS: [number, number, number, number][] = [
  [0, 0.2, 0.0, 0.5],
  [0.35, 0.8, 0.0, 0.6],
  [0.7, 1.0, 0.45, 0.0],
  [1, 1.0, 0.95, 0.1],
];
/** Largest possible variance of a [0,1] ensemble (all members 0 or 1, half each). */
export const VARIANCE_MAX = 0.25;

const SEGMENTATION_ID = 'halo-tumour';
const VARIANCE_SEG_ID = 'halo-variance';
/** Number of colour bins of the variance overlay: fine enough to look continuous. */
export const VARIANCE_BINS = 48;
/** Default threshold: below it the members agree closely enough that nothing is drawn (the user can change it). */
export const VARIANCE_THRESHOLD = 0.05;

/** Colour of a value x in 0..1 along VARIANCE_STOPS, as 0..255 RGB. */
export function varianceColour(x: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, x));
  for (let i = 0; i < VARIANCE_STOPS.length - 1; i++) {
    const a = VARIANCE_STOPS[i];
    const b = VARIANCE_STOPS[i + 1];
    if (t <= b[0]) {
      const f = b[0] > a[0] ? (t - a[0]) / (b[0] - a[0]) : 0;
      return [1, 2, 3].map((n) => Math.round(255 * (a[n] + f * (b[n] - a[n])))) as [number, number, number];
    }
  }
  const last = VARIANCE_STOPS[VARIANCE_STOPS.length - 1];
  return [Math.round(255 * last[1]), Math.round(255 * last[2]), Math.round(255 * last[3])];
}

/** Label of the variance overlay for a variance value: 0 (below the threshold: not drawn) or 1..VARIANCE_BINS. */
export function varianceBin(v: number, threshold: number): number {
  if (!(v >= threshold)) return 0;
  return 1 + Math.min(VARIANCE_BINS - 1, Math.floor(((v - threshold) / (VARIANCE_MAX - threshold)) * VARIANCE_BINS));
}
const TOOL_GROUP = 'halo-tools';
const ZOOM_PAN_SYNC = 'halo-zoom-pan';

/**
 * Right-drag zoom at a quarter of Cornerstone's rate (5 × the viewport height per drag is far too fast to
 * frame a lesion): the drag's movement is scaled before the stock zoom sees it.
 */
class GentleZoomTool extends ZoomTool {
  static override toolName = 'HaloZoom';
  constructor(...args: ConstructorParameters<typeof ZoomTool>) {
    super(...args);
    this.mouseDragCallback = (evt) => {
      const d = evt.detail;
      const c = d.deltaPoints.canvas;
      this._dragCallback({ ...evt, detail: { ...d, deltaPoints: { ...d.deltaPoints, canvas: [c[0] * 0.25, c[1] * 0.25] } } } as typeof evt);
    };
  }
}
let initialised: Promise<void> | null = null;

async function initOnce(): Promise<void> {
  if (!initialised) {
    initialised = (async () => {
      csInit();
      toolsInit();
      addTool(WindowLevelTool);
      addTool(PanTool);
      addTool(GentleZoomTool);
      addTool(BrushTool);
    })();
  }
  return initialised;
}

export interface LoadedVolume {
  role: Role;
  data: Float32Array;
}

export type WindowPreset = 'auto' | 'soft' | 'wide' | 'bright';

/** What the primary mouse button does: window/level, or paint / erase the tumour mask. */
export type EditTool = 'none' | 'brush' | 'eraser';
const BRUSH = 'HaloBrush';
const ERASER = 'HaloEraser';

export interface OverlayState {
  mask: boolean;
  maskStyle: 'fill' | 'outline' | 'both';
  variance: boolean;
  varianceOpacity: number;
  /** Variance below this is not drawn. */
  varianceThreshold: number;
}

export class Viewer {
  private engine: RenderingEngine | null = null;
  private grid: GridView | null = null;
  private prefix = '';
  private roles: Role[] = [];
  private elements = new Map<Role, HTMLDivElement>();
  private windows = new Map<Role, { lower: number; upper: number }>();
  private k = 0;
  private overlay: OverlayState = { mask: true, maskStyle: 'both', variance: true, varianceOpacity: 0.6, varianceThreshold: VARIANCE_THRESHOLD };
  /** Slices whose overlay voxels changed while out of view: pushed to Cornerstone when they come into view. */
  private stale = new Set<number>();
  /** Slices whose overlay voxels may hold something (a result or an edit): all that clearResults has to empty. */
  private written = new Set<number>();
  private resizeObserver: ResizeObserver | null = null;
  private resizeFrame = 0;
  /** Renders requested (tests: a result for a slice out of view must not re-render the viewports). */
  renderCount = 0;
  onSliceChange: (k: number) => void = () => undefined;
  /** Called after the user painted, erased or undid on the mask. */
  onMaskEdited: () => void = () => undefined;
  private editTool: EditTool = 'none';
  /** Called (once a frame at most) when a viewport's window/level, zoom or pan changed. */
  onViewChange: () => void = () => undefined;
  private viewFrame = 0;
  /** The window preset last applied to all viewports, or 'custom' after a manual change. */
  preset: WindowPreset | 'custom' = 'auto';
  private settingPreset = false;

  async load(studyId: string, grid: GridView, volumes: LoadedVolume[], elements: Map<Role, HTMLDivElement>): Promise<void> {
    await initOnce();
    this.dispose();
    this.grid = grid;
    this.prefix = `halo-${studyId}-${Date.now().toString(36)}`;
    this.roles = volumes.map((v) => v.role);
    this.elements = elements;
    this.engine = new RenderingEngine('halo-engine');
    const cam = acquisitionCamera(grid.direction as [V3, V3, V3]);
    const [nx, ny, nz] = grid.dims;
    const common = {
      dimensions: grid.dims as Types.Point3,
      spacing: grid.spacing as Types.Point3,
      origin: grid.origin as Types.Point3,
      direction: grid.direction.flat() as Types.Mat3,
    };
    const meta = (bits: number): Types.Metadata => ({
      BitsAllocated: bits,
      BitsStored: bits,
      SamplesPerPixel: 1,
      HighBit: bits - 1,
      PhotometricInterpretation: 'MONOCHROME2',
      PixelRepresentation: 1,
      Modality: 'MR',
      ImageOrientationPatient: [...grid.direction[0], ...grid.direction[1]],
      PixelSpacing: [grid.spacing[1], grid.spacing[0]],
      FrameOfReferenceUID: grid.frameOfReferenceUID ?? 'halo',
      Columns: nx,
      Rows: ny,
      voiLut: [],
      VOILUTFunction: 'LINEAR',
    });
    for (const v of volumes) {
      volumeLoader.createLocalVolume(this.volumeId(v.role), { ...common, metadata: meta(32), scalarData: v.data });
      this.windows.set(v.role, percentileWindow(v.data));
    }
    volumeLoader.createLocalVolume(this.varianceId(), { ...common, metadata: meta(8), scalarData: new Uint8Array(nx * ny * nz) });
    volumeLoader.createLocalVolume(this.maskId(), { ...common, metadata: meta(8), scalarData: new Uint8Array(nx * ny * nz) });

    this.engine.setViewports(
      this.roles.map((role) => ({
        viewportId: this.viewportId(role),
        type: Enums.ViewportType.ORTHOGRAPHIC,
        element: elements.get(role)!,
        defaultOptions: {
          orientation: { viewUp: cam.viewUp as Types.Point3, viewPlaneNormal: cam.viewPlaneNormal as Types.Point3 },
          background: [0, 0, 0] as Types.Point3,
        },
      })),
    );
    const group = ToolGroupManager.createToolGroup(TOOL_GROUP)!;
    group.addTool(WindowLevelTool.toolName);
    group.addTool(PanTool.toolName);
    group.addTool(GentleZoomTool.toolName);
    group.addToolInstance(BRUSH, BrushTool.toolName, { activeStrategy: 'FILL_INSIDE_CIRCLE', brushSize: 6 });
    group.addToolInstance(ERASER, BrushTool.toolName, { activeStrategy: 'ERASE_INSIDE_CIRCLE', brushSize: 6 });
    group.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Primary }] });
    group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Auxiliary }] });
    group.setToolActive(GentleZoomTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Secondary }] });

    for (const role of this.roles) {
      const vp = this.viewport(role);
      group.addViewport(vp.id, this.engine.id);
      await vp.setVolumes([{ volumeId: this.volumeId(role) }]);
      vp.setProperties({ voiRange: this.windows.get(role)! }, this.volumeId(role));
    }
    // Zoom and pan of one sequence apply to all: they show the same anatomy on the same grid.
    const sync = synchronizers.createZoomPanSynchronizer(ZOOM_PAN_SYNC);
    for (const role of this.roles) sync.add({ renderingEngineId: this.engine.id, viewportId: this.viewportId(role) });
    for (const el of elements.values()) {
      el.addEventListener(Enums.Events.CAMERA_MODIFIED, this.viewChanged);
      el.addEventListener(Enums.Events.VOI_MODIFIED, this.viewChanged);
    }
    const varianceSegments: Record<number, { label: string }> = {};
    for (let b = 1; b <= VARIANCE_BINS; b++) varianceSegments[b] = { label: `variance bin ${b}` };
    segmentation.addSegmentations([
      {
        segmentationId: VARIANCE_SEG_ID,
        representation: { type: ToolEnums.SegmentationRepresentations.Labelmap, data: { volumeId: this.varianceId() } },
        config: { label: 'Ensemble variance', segments: varianceSegments },
      },
      {
        segmentationId: SEGMENTATION_ID,
        representation: { type: ToolEnums.SegmentationRepresentations.Labelmap, data: { volumeId: this.maskId() } },
        config: { label: 'Whole tumour', segments: { 1: { label: 'Whole tumour' } } },
      },
    ]);
    // One opacity for every drawn bin (the slider's), so the legend's colours are the colours drawn.
    const lut: Types.ColorLUT = [[0, 0, 0, 0]];
    for (let b = 1; b <= VARIANCE_BINS; b++) lut.push([...varianceColour((b - 0.5) / VARIANCE_BINS), 255]);
    const map: Record<string, { segmentationId: string; config?: { colorLUTOrIndex: Types.ColorLUT } }[]> = {};
    for (const role of this.roles) {
      map[this.viewportId(role)] = [{ segmentationId: VARIANCE_SEG_ID, config: { colorLUTOrIndex: lut } }, { segmentationId: SEGMENTATION_ID }];
    }
    await segmentation.addLabelmapRepresentationToViewportMap(map);
    for (const role of this.roles) {
      segmentation.config.color.setSegmentIndexColor(this.viewportId(role), SEGMENTATION_ID, 1, [0, 230, 120, 255]);
      // The brush and eraser edit the tumour mask, never the variance layer.
      segmentation.activeSegmentation.setActiveSegmentation(this.viewportId(role), SEGMENTATION_ID);
    }
    segmentation.segmentIndex.setActiveSegmentIndex(SEGMENTATION_ID, 1);
    this.editTool = 'none';
    eventTarget.addEventListener(ToolEnums.Events.SEGMENTATION_DATA_MODIFIED, this.onSegmentationModified);
    this.applyOverlay();
    this.setSlice(Math.floor(nz / 2));
    // The elements change size after loading (the slice strip appears, the window or layout changes): size
    // every canvas to its element, or the image is drawn stretched.
    this.resizeObserver = new ResizeObserver(() => {
      cancelAnimationFrame(this.resizeFrame);
      this.resizeFrame = requestAnimationFrame(() => this.resize());
    });
    for (const el of elements.values()) this.resizeObserver.observe(el);
  }

  /** k of the slice in view (reference grid). */
  get slice(): number {
    return this.k;
  }

  get sliceCount(): number {
    return this.grid?.dims[2] ?? 0;
  }

  setSlice(k: number): void {
    if (!this.engine || !this.grid) return;
    const nz = this.grid.dims[2];
    this.k = Math.max(0, Math.min(nz - 1, Math.round(k)));
    this.flushStale(this.k);
    const target = voxelToWorld(this.grid as { origin: V3; spacing: V3; direction: [V3, V3, V3] }, 0, 0, this.k);
    for (const role of this.roles) {
      const vp = this.viewport(role);
      const c = vp.getCamera();
      const n = c.viewPlaneNormal as V3;
      const d = dot(sub(target, c.focalPoint as V3), n);
      if (Math.abs(d) < 1e-6) continue;
      vp.setCamera({ focalPoint: add(c.focalPoint as V3, n, d) as Types.Point3, position: add(c.position as V3, n, d) as Types.Point3 });
    }
    this.render();
    this.onSliceChange(this.k);
  }

  scroll(delta: number): void {
    this.setSlice(this.k + delta);
  }

  /** Orientation letters of the screen edges (all viewports share the camera orientation). */
  labels(): { top: string; bottom: string; left: string; right: string } {
    const role = this.roles[0];
    if (!role || !this.engine) return { top: '', bottom: '', left: '', right: '' };
    const c = this.viewport(role).getCamera();
    const up = c.viewUp as V3;
    const n = c.viewPlaneNormal as V3;
    const right: V3 = [up[1] * n[2] - up[2] * n[1], up[2] * n[0] - up[0] * n[2], up[0] * n[1] - up[1] * n[0]];
    return edgeLabels(up, right);
  }

  setWindow(role: Role | 'all', preset: WindowPreset): void {
    if (!this.engine) return;
    this.settingPreset = true;
    for (const r of role === 'all' ? this.roles : [role]) {
      const base = this.windows.get(r)!;
      const w = base.upper - base.lower;
      const range =
        preset === 'auto'
          ? base
          : preset === 'soft'
            ? { lower: base.lower + 0.1 * w, upper: base.upper - 0.15 * w }
            : preset === 'wide'
              ? { lower: Math.min(0, base.lower - 0.2 * w), upper: base.upper + 0.4 * w }
              : { lower: base.lower + 0.3 * w, upper: base.upper };
      this.viewport(r).setProperties({ voiRange: range }, this.volumeId(r));
    }
    this.settingPreset = false;
    this.preset = role === 'all' ? preset : 'custom';
    this.render();
    this.onViewChange();
  }

  /** Set the window of one sequence by its width and level (centre), in the series' own values. */
  setWindowValues(role: Role, width: number, level: number): void {
    if (!this.engine || !this.roles.includes(role) || !(width > 0) || !Number.isFinite(level)) return;
    this.viewport(role).setProperties({ voiRange: { lower: level - width / 2, upper: level + width / 2 } }, this.volumeId(role));
    this.preset = 'custom';
    this.render();
    this.onViewChange();
  }

  /**
   * What the corners of each viewport say: window width/level, zoom (1 = fitted), slice position along the
   * viewing direction (mm, patient coordinates) and the slice spacing.
   */
  viewInfo(): Partial<Record<Role, { width: number; level: number; zoom: number; positionMm: number; thicknessMm: number }>> {
    const out: Partial<Record<Role, { width: number; level: number; zoom: number; positionMm: number; thicknessMm: number }>> = {};
    if (!this.engine || !this.grid) return out;
    const g = this.grid as { origin: V3; spacing: V3; direction: [V3, V3, V3] };
    const centre = voxelToWorld(g, 0, 0, this.k);
    for (const role of this.roles) {
      const vp = this.viewport(role);
      const voi = vp.getProperties(this.volumeId(role))?.voiRange;
      const n = vp.getCamera().viewPlaneNormal as V3;
      out[role] = {
        width: voi ? voi.upper - voi.lower : NaN,
        level: voi ? (voi.upper + voi.lower) / 2 : NaN,
        zoom: vp.getZoom(),
        positionMm: dot(centre, n),
        thicknessMm: g.spacing[2],
      };
    }
    return out;
  }

  private viewChanged = (e: Event) => {
    // A window dragged with the mouse is no preset any more.
    if (e.type === Enums.Events.VOI_MODIFIED && !this.settingPreset) this.preset = 'custom';
    cancelAnimationFrame(this.viewFrame);
    this.viewFrame = requestAnimationFrame(() => this.onViewChange());
  };

  resetView(): void {
    if (!this.engine) return;
    const k = this.k;
    for (const r of this.roles) this.viewport(r).resetCamera();
    this.setSlice(k);
  }

  zoom(factor: number): void {
    if (!this.engine) return;
    for (const r of this.roles) {
      const vp = this.viewport(r);
      const c = vp.getCamera();
      vp.setCamera({ parallelScale: (c.parallelScale ?? 1) / factor });
    }
    this.render();
  }

  resize(): void {
    if (!this.engine) return;
    this.engine.resize(true, true);
    this.renderCount++;
  }

  setOverlay(o: Partial<OverlayState>): void {
    this.overlay = { ...this.overlay, ...o };
    this.applyOverlay();
  }

  /**
   * Draw one slice's result. `mask` decides the labelmap (the ensemble mask, or one member's); `variance` the
   * heat layer. Both are rows x cols of the reference grid.
   */
  drawSlice(k: number, mask: Uint8Array, variance: Float32Array, render = true): void {
    if (!this.engine || !this.grid) return;
    const [nx, ny, nz] = this.grid.dims;
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
    if (k === this.k) {
      this.flushStale(k);
      if (render) this.render();
    }
  }

  /**
   * Empty the overlays. Only the slices that hold something are rewritten, and the viewports are redrawn only if
   * the slice in view was one of them: on 2 cores with software WebGL a redraw costs ~1 s of the first overlay.
   */
  clearResults(): void {
    if (!this.grid) return;
    const [nx, ny] = this.grid.dims;
    const mask = new Uint8Array(nx * ny);
    const variance = new Float32Array(nx * ny);
    const slices = [...this.written];
    for (const k of slices) this.drawSlice(k, mask, variance, false);
    this.written.clear();
    if (slices.includes(this.k)) this.render();
  }

  /**
   * Voxel under a canvas point (CSS px in the viewport element) of the slice in view, and the image value
   * there; null outside the grid.
   */
  voxelAt(role: Role, x: number, y: number): { i: number; j: number; k: number; intensity: number } | null {
    if (!this.engine || !this.grid || !this.roles.includes(role)) return null;
    const w = this.viewport(role).canvasToWorld([x, y]) as V3;
    const g = this.grid as { origin: V3; spacing: V3; direction: [V3, V3, V3] };
    const d = sub(w, g.origin);
    const i = Math.round(dot(d, g.direction[0]) / g.spacing[0]);
    const j = Math.round(dot(d, g.direction[1]) / g.spacing[1]);
    const [nx, ny] = this.grid.dims;
    if (i < 0 || j < 0 || i >= nx || j >= ny) return null;
    const img = cache.getVolume(this.volumeId(role));
    const intensity = Number(img?.voxelManager?.getAtIndex(this.k * nx * ny + j * nx + i) ?? NaN);
    return { i, j, k: this.k, intensity };
  }

  private flushStale(k: number): void {
    if (!this.stale.delete(k)) return;
    segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(SEGMENTATION_ID, [k]);
    segmentation.triggerSegmentationEvents.triggerSegmentationDataModified(VARIANCE_SEG_ID, [k]);
  }

  private render(): void {
    this.engine?.render();
    this.renderCount++;
  }

  /** The canvas of a viewport (tests and screenshots). */
  canvas(role: Role): HTMLCanvasElement | null {
    return this.elements.get(role)?.querySelector('canvas') ?? null;
  }

  /** Canvas pixel (CSS px, relative to the viewport element) of voxel (i, j) of the current slice. */
  voxelToCanvas(role: Role, i: number, j: number): [number, number] | null {
    if (!this.engine || !this.grid) return null;
    const w = voxelToWorld(this.grid as { origin: V3; spacing: V3; direction: [V3, V3, V3] }, i, j, this.k);
    const p = this.viewport(role).worldToCanvas(w as Types.Point3);
    return [p[0], p[1]];
  }

  /**
   * Canvas points (CSS px in the viewport element) of up to n voxels of slice k well inside the drawn mask and
   * n voxels of brain well away from it (tests: are the overlays drawn where the result says?).
   */
  debugMaskPoints(role: Role, n = 200): { inside: [number, number][]; outside: [number, number][] } {
    const out = { inside: [] as [number, number][], outside: [] as [number, number][] };
    const vol = cache.getVolume(this.maskId());
    const img = cache.getVolume(this.volumeId(role));
    if (!vol || !img || !this.grid) return out;
    const [nx, ny] = this.grid.dims;
    const base = this.k * nx * ny;
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
    out.inside = pick(inside).map(([i, j]) => this.voxelToCanvas(role, i, j)!);
    out.outside = pick(outside).map(([i, j]) => this.voxelToCanvas(role, i, j)!);
    return out;
  }

  /**
   * Per slice k, the number of voxels set in the mask overlay and in the variance overlay, for the slices where
   * either is non-zero (tests: which slices show a result, and how much of it).
   */
  debugOverlayCounts(): Record<number, { mask: number; variance: number }> {
    const out: Record<number, { mask: number; variance: number }> = {};
    const mv = cache.getVolume(this.maskId());
    const vv = cache.getVolume(this.varianceId());
    if (!mv || !vv || !this.grid) return out;
    const [nx, ny, nz] = this.grid.dims;
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
    if (!vol || !this.grid) return { volume: -1, image: -1 };
    const plane = this.grid.dims[0] * this.grid.dims[1];
    let a = 0;
    for (let p = 0; p < plane; p++) a += Number(vol.voxelManager!.getAtIndex(k * plane + p));
    const img = cache.getImage(vol.imageIds[k]);
    const data = img?.voxelManager?.getScalarData() as ArrayLike<number> | undefined;
    let b = 0;
    if (data) for (let p = 0; p < data.length; p++) b += data[p];
    return { volume: a, image: b };
  }

  /** Primary button: window/level ('none'), paint the mask ('brush') or erase it ('eraser'). */
  setEditTool(tool: EditTool, size?: number): void {
    const group = ToolGroupManager.getToolGroup(TOOL_GROUP);
    if (!group) return;
    this.editTool = tool;
    for (const name of [WindowLevelTool.toolName, BRUSH, ERASER]) group.setToolPassive(name);
    const primary = { bindings: [{ mouseButton: ToolEnums.MouseBindings.Primary }] };
    group.setToolActive(tool === 'brush' ? BRUSH : tool === 'eraser' ? ERASER : WindowLevelTool.toolName, primary);
    if (size) for (const name of [BRUSH, ERASER]) group.setToolConfiguration(name, { brushSize: size });
    this.render();
  }

  get activeEditTool(): EditTool {
    return this.editTool;
  }

  /** Undo the last paint or erase stroke. */
  undoEdit(): void {
    csUtils.HistoryMemo.DefaultHistoryMemo.undo();
    this.render();
    this.onMaskEdited();
  }

  /** 1 where the image of `role` on slice k is not 0 (the brain, in skull-stripped or masked series). */
  nonZeroOf(role: Role, k: number): Uint8Array | null {
    return this.nonZeroSlice(this.volumeId(role), k);
  }

  /** The mask as drawn now on slice k (after the user's edits). */
  maskOf(k: number): Uint8Array | null {
    return this.nonZeroSlice(this.maskId(), k);
  }

  private nonZeroSlice(volumeId: string, k: number): Uint8Array | null {
    const vol = cache.getVolume(volumeId);
    if (!vol || !this.grid) return null;
    const plane = this.grid.dims[0] * this.grid.dims[1];
    const out = new Uint8Array(plane);
    const vm = vol.voxelManager as Types.IVoxelManager<number>;
    for (let p = 0; p < plane; p++) out[p] = vm.getAtIndex(k * plane + p) ? 1 : 0;
    return out;
  }

  private onSegmentationModified = (e: Event) => {
    const id = (e as CustomEvent<{ segmentationId: string }>).detail?.segmentationId;
    if (id === SEGMENTATION_ID && this.editTool !== 'none') {
      this.written.add(this.k);
      this.onMaskEdited();
    }
  };

  dispose(): void {
    eventTarget.removeEventListener(ToolEnums.Events.SEGMENTATION_DATA_MODIFIED, this.onSegmentationModified);
    this.resizeObserver?.disconnect();
    this.resizeObserver = null;
    cancelAnimationFrame(this.resizeFrame);
    this.stale.clear();
    this.written.clear();
    try {
      segmentation.removeAllSegmentationRepresentations();
      segmentation.removeAllSegmentations();
    } catch {
      // nothing to remove
    }
    if (ToolGroupManager.getToolGroup(TOOL_GROUP)) ToolGroupManager.destroyToolGroup(TOOL_GROUP);
    if (SynchronizerManager.getSynchronizer(ZOOM_PAN_SYNC)) SynchronizerManager.destroySynchronizer(ZOOM_PAN_SYNC);
    for (const el of this.elements.values()) {
      el.removeEventListener(Enums.Events.CAMERA_MODIFIED, this.viewChanged);
      el.removeEventListener(Enums.Events.VOI_MODIFIED, this.viewChanged);
    }
    cancelAnimationFrame(this.viewFrame);
    this.preset = 'auto';
    this.engine?.destroy();
    this.engine = null;
    // Called again by load() right after the store's dispose(): remove only what is still cached (removing a
    // volume twice throws, and the next study would never show).
    if (this.prefix) {
      for (const id of [...this.roles.map((r) => this.volumeId(r)), this.maskId(), this.varianceId()]) {
        if (cache.getVolumeLoadObject(id)) cache.removeVolumeLoadObject(id);
      }
    }
    this.prefix = '';
    this.grid = null;
    this.windows.clear();
    this.roles = [];
  }

  private applyOverlay(): void {
    if (!this.engine) return;
    const { mask, maskStyle, variance, varianceOpacity } = this.overlay;
    for (const role of this.roles) {
      const viewportId = this.viewportId(role);
      segmentation.config.visibility.setSegmentationRepresentationVisibility(
        viewportId,
        { segmentationId: SEGMENTATION_ID, type: ToolEnums.SegmentationRepresentations.Labelmap },
        mask,
      );
      segmentation.config.style.setStyle(
        { viewportId, segmentationId: SEGMENTATION_ID, type: ToolEnums.SegmentationRepresentations.Labelmap },
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
        { segmentationId: VARIANCE_SEG_ID, type: ToolEnums.SegmentationRepresentations.Labelmap },
        variance && varianceOpacity > 0,
      );
      segmentation.config.style.setStyle(
        { viewportId, segmentationId: VARIANCE_SEG_ID, type: ToolEnums.SegmentationRepresentations.Labelmap },
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
    this.render();
  }

  private viewport(role: Role): Types.IVolumeViewport {
    return this.engine!.getViewport(this.viewportId(role)) as Types.IVolumeViewport;
  }

  private viewportId = (role: Role) => `vp-${role}`;
  private volumeId = (role: Role) => `${this.prefix}-${role}`;
  private maskId = () => `${this.prefix}-mask`;
  private varianceId = () => `${this.prefix}-variance`;
}
