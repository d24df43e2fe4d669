/**
 * The viewports: one rendering engine, one volume per sequence on the reference (FLAIR) grid, and one orthographic
 * viewport per view. A view is a sequence in one plane of that grid: the acquisition plane (k), moved together by
 * k, or a reformat normal to i or j (planes.ts), placed at the crosshair (i, j). Owns the cameras, the
 * window/level of each sequence (shared by its views), the sizes of the canvases, and the mapping between canvas
 * points and voxels.
 */
import { Enums, RenderingEngine, cache, volumeLoader, type Types } from '@cornerstonejs/core';
import type { GridView, Role } from '../../../main/app/contract';
import { add, dot, edgeLabels, lesionWindow, percentileWindow, sub, voxelToWorld, type V3 } from './geometry';
import { planeCamera, planeNames, viewRight, worldToVoxel, type Axis, type PlaneName } from './planes';

export interface LoadedVolume {
  role: Role;
  data: Float32Array;
}

export type WindowPreset = 'auto' | 'soft' | 'wide' | 'bright';

type Grid = { origin: V3; spacing: V3; direction: [V3, V3, V3] };

/** One viewport: sequence `role` in the grid plane normal to `axis` (2: the acquisition plane). */
export interface ViewSpec {
  id: string;
  role: Role;
  axis: Axis;
}

/** What the corners of a view say. */
export interface ViewInfo {
  width: number;
  level: number;
  zoom: number;
  /** The plane's name and its index along its axis (1-based in the UI), of how many. */
  plane: PlaneName;
  index: number;
  count: number;
  positionMm: number;
  thicknessMm: number;
}

/** A Cornerstone volume on the reference grid, from our own voxels (float32 images, uint8 overlays). */
export function createGridVolume(volumeId: string, grid: GridView, scalarData: Float32Array | Uint8Array): void {
  const bits = scalarData instanceof Float32Array ? 32 : 8;
  const [nx, ny] = grid.dims;
  const metadata: Types.Metadata = {
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
  };
  volumeLoader.createLocalVolume(volumeId, {
    dimensions: grid.dims as Types.Point3,
    spacing: grid.spacing as Types.Point3,
    origin: grid.origin as Types.Point3,
    direction: grid.direction.flat() as Types.Mat3,
    metadata,
    scalarData,
  });
}

/** 1 where volume `volumeId` (on `grid`) is not 0 on slice k; null when it is not in the cache. */
export function nonZeroSlice(volumeId: string, grid: GridView, k: number): Uint8Array | null {
  const vol = cache.getVolume(volumeId);
  if (!vol) return null;
  const plane = grid.dims[0] * grid.dims[1];
  const out = new Uint8Array(plane);
  const vm = vol.voxelManager as Types.IVoxelManager<number>;
  for (let p = 0; p < plane; p++) out[p] = vm.getAtIndex(k * plane + p) ? 1 : 0;
  return out;
}

export class Viewports {
  engine: RenderingEngine | null = null;
  grid: GridView | null = null;
  /** Prefix of this study's volume ids (unique per load: the cache outlives a study). */
  prefix = '';
  /** The sequences loaded (one volume each). */
  roles: Role[] = [];
  /** The views on screen, one viewport each. */
  views: ViewSpec[] = [];
  private elements = new Map<string, HTMLDivElement>();
  /** Each sequence's automatic window (the presets derive from it) and its window now (kept across layouts). */
  private windows = new Map<Role, { lower: number; upper: number }>();
  private lesionWindows = new Map<Role, { lower: number; upper: number }>();
  private current = new Map<Role, { lower: number; upper: number }>();
  private k = 0;
  /** Where the reformats cut the grid: column i (the plane normal to i) and row j (the plane normal to j). */
  private centre: [number, number] = [0, 0];
  private resizeObserver: ResizeObserver | null = null;
  private resizeFrame = 0;
  private viewFrame = 0;
  /** Renders requested (tests: a result for a slice out of view must not re-render the viewports). */
  renderCount = 0;
  /** The window preset last applied to all viewports, or 'custom' after a manual change. */
  preset: WindowPreset | 'custom' = 'auto';
  private settingWindow = false;
  /** Called (once a frame at most) when a viewport's window/level, zoom or pan changed. */
  onViewChange: () => void = () => undefined;
  /** Called when the cameras reached slice k, before the redraw (overlays push that slice's voxels). */
  onSliceMoved: (k: number) => void = () => undefined;
  onSliceChange: (k: number) => void = () => undefined;
  /** Called when the reformats moved to another column i / row j. */
  onCentreChange: (centre: [number, number]) => void = () => undefined;

  /** Create the engine and one volume per sequence; the views come with setViews(). */
  open(studyId: string, grid: GridView, volumes: LoadedVolume[]): void {
    this.grid = grid;
    this.prefix = `halo-${studyId}-${Date.now().toString(36)}`;
    this.roles = volumes.map((v) => v.role);
    this.engine = new RenderingEngine('halo-engine');
    for (const v of volumes) {
      createGridVolume(this.volumeId(v.role), grid, v.data);
      const w = percentileWindow(v.data);
      this.windows.set(v.role, w);
      this.lesionWindows.set(v.role, lesionWindow(v.data));
      this.current.set(v.role, w);
    }
    this.k = Math.floor(grid.dims[2] / 2);
    this.centre = [Math.floor(grid.dims[0] / 2), Math.floor(grid.dims[1] / 2)];
  }

  /**
   * Show these views (replacing the ones on screen): a viewport per view with its sequence at that sequence's
   * window, its camera in its plane at the slice or crosshair in view. The caller re-attaches overlays and tools.
   */
  async setViews(views: ViewSpec[], elements: Map<string, HTMLDivElement>): Promise<void> {
    if (!this.engine || !this.grid) return;
    this.unobserve();
    this.views = views.filter((v) => this.roles.includes(v.role) && elements.has(v.id));
    this.elements = new Map(this.views.map((v) => [v.id, elements.get(v.id)!]));
    this.engine.setViewports(
      this.views.map((v) => {
        const cam = planeCamera(this.grid!.direction as [V3, V3, V3], v.axis);
        return {
          viewportId: this.viewportId(v.id),
          type: Enums.ViewportType.ORTHOGRAPHIC,
          element: this.elements.get(v.id)!,
          defaultOptions: {
            orientation: { viewUp: cam.viewUp as Types.Point3, viewPlaneNormal: cam.viewPlaneNormal as Types.Point3 },
            background: [0, 0, 0] as Types.Point3,
          },
        };
      }),
    );
    for (const v of this.views) {
      const vp = this.viewport(v.id);
      await vp.setVolumes([{ volumeId: this.volumeId(v.role) }]);
      vp.setProperties({ voiRange: this.current.get(v.role)! }, this.volumeId(v.role));
    }
    for (const el of this.elements.values()) {
      el.addEventListener(Enums.Events.CAMERA_MODIFIED, this.viewChanged);
      el.addEventListener(Enums.Events.VOI_MODIFIED, this.viewChanged);
    }
    this.placeCameras(this.views);
  }

  /**
   * The elements change size after loading (the slice strip appears, the window or layout changes): size every
   * canvas to its element, or the image is drawn stretched.
   */
  observeResize(): void {
    this.resizeObserver = new ResizeObserver(() => {
      cancelAnimationFrame(this.resizeFrame);
      this.resizeFrame = requestAnimationFrame(() => this.resize());
    });
    for (const el of this.elements.values()) this.resizeObserver.observe(el);
  }

  get viewportIds(): string[] {
    return this.views.map((v) => this.viewportId(v.id));
  }

  /** Viewport ids of the views in the acquisition plane, and of the reformats. */
  viewportIdsOf(which: 'acquisition' | 'reformat'): string[] {
    return this.views.filter((v) => (v.axis === 2) === (which === 'acquisition')).map((v) => this.viewportId(v.id));
  }

  get hasReformats(): boolean {
    return this.views.some((v) => v.axis !== 2);
  }

  /** The anatomical plane closest to the grid plane normal to each axis (i, j, k). */
  planeNames(): [PlaneName, PlaneName, PlaneName] | null {
    return this.grid ? planeNames(this.grid.direction) : null;
  }

  /** k of the slice in view (reference grid). */
  get slice(): number {
    return this.k;
  }

  get sliceCount(): number {
    return this.grid?.dims[2] ?? 0;
  }

  /** Column i and row j where the reformats cut the grid. */
  get crosshair(): [number, number] {
    return [...this.centre];
  }

  /** The slice last asked for by scrolling, while the cameras have not moved to it yet (null: none pending). */
  private target: number | null = null;
  private moveTimer: ReturnType<typeof setTimeout> | undefined;

  /** The slice the user's next step starts from: the one last asked for, drawn or not. */
  get requestedSlice(): number {
    return this.target ?? this.k;
  }

  /**
   * Ask for slice k while scrolling. A frame takes up to a second with software WebGL; the arrows and wheel
   * steps that queue up meanwhile only move the target, and the cameras move once, to the last one, when they
   * have all been taken in: the slices in between are never drawn (as OHIF drops frames).
   */
  requestSlice(k: number): void {
    if (!this.engine || !this.grid) return;
    this.target = this.clamp(k, 2);
    this.moveTimer ??= setTimeout(() => {
      this.moveTimer = undefined;
      if (this.target !== null) this.setSlice(this.target);
    }, 0);
  }

  private clamp(v: number, axis: Axis): number {
    return Math.max(0, Math.min((this.grid?.dims[axis] ?? 1) - 1, Math.round(v)));
  }

  /**
   * Move the acquisition-plane cameras to slice k now (and forget a slice asked for while scrolling). Only they
   * are redrawn: a reformat shows every slice already, and only its reference line moves.
   */
  setSlice(k: number): void {
    if (!this.engine || !this.grid) return;
    this.target = null;
    this.k = this.clamp(k, 2);
    this.onSliceMoved(this.k);
    const moved = this.placeCameras(this.views.filter((v) => v.axis === 2));
    this.render(this.hasReformats ? moved : undefined);
    this.onSliceChange(this.k);
  }

  /** Move the reformats to column i and row j (a click in a view); only the reformats that moved are redrawn. */
  setCrosshair(i: number, j: number): void {
    if (!this.engine || !this.grid) return;
    this.centre = [this.clamp(i, 0), this.clamp(j, 1)];
    const moved = this.placeCameras(this.views.filter((v) => v.axis !== 2));
    if (moved.length) this.render(moved);
    this.onCentreChange(this.crosshair);
  }

  /** Put each view's camera on the voxel plane it shows (slice k, column i or row j); the ids of those moved. */
  private placeCameras(views: ViewSpec[]): string[] {
    const g = this.grid as Grid;
    const target = voxelToWorld(g, this.centre[0], this.centre[1], this.k);
    const moved: string[] = [];
    for (const v of views) {
      const vp = this.viewport(v.id);
      const c = vp.getCamera();
      const n = c.viewPlaneNormal as V3;
      const d = dot(sub(target, c.focalPoint as V3), n);
      if (Math.abs(d) < 1e-6) continue;
      vp.setCamera({ focalPoint: add(c.focalPoint as V3, n, d) as Types.Point3, position: add(c.position as V3, n, d) as Types.Point3 });
      moved.push(this.viewportId(v.id));
    }
    return moved;
  }

  /** Orientation letters of the screen edges of a view (the first view's without one). */
  labels(viewId?: string): { top: string; bottom: string; left: string; right: string } {
    const id = viewId ?? this.views[0]?.id;
    if (!id || !this.engine || !this.elements.has(id)) return { top: '', bottom: '', left: '', right: '' };
    const c = this.viewport(id).getCamera();
    const up = c.viewUp as V3;
    return edgeLabels(up, viewRight({ viewUp: up, viewPlaneNormal: c.viewPlaneNormal as V3 }));
  }

  setWindow(role: Role | 'all', preset: WindowPreset): void {
    if (!this.engine) return;
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
              : this.lesionWindows.get(r)!;
      this.applyWindow(r, range);
    }
    this.preset = role === 'all' ? preset : 'custom';
    this.render();
    this.onViewChange();
  }

  /** Set the window of one sequence by its width and level (centre), in the series' own values. */
  setWindowValues(role: Role, width: number, level: number): void {
    if (!this.engine || !this.roles.includes(role) || !(width > 0) || !Number.isFinite(level)) return;
    this.applyWindow(role, { lower: level - width / 2, upper: level + width / 2 });
    this.preset = 'custom';
    this.render();
    this.onViewChange();
  }

  /** One sequence's window, in every view of it. */
  private applyWindow(role: Role, range: { lower: number; upper: number }): void {
    this.current.set(role, range);
    this.settingWindow = true;
    for (const v of this.views) if (v.role === role) this.viewport(v.id).setProperties({ voiRange: range }, this.volumeId(role));
    this.settingWindow = false;
  }

  /**
   * What the corners of each view say: window width/level, zoom (1 = fitted), the plane and its index, its
   * position along the viewing direction (mm, patient coordinates) and the spacing between its planes.
   */
  viewInfo(): Record<string, ViewInfo> {
    const out: Record<string, ViewInfo> = {};
    if (!this.engine || !this.grid) return out;
    const g = this.grid as Grid;
    const names = planeNames(g.direction);
    const centre = voxelToWorld(g, this.centre[0], this.centre[1], this.k);
    for (const v of this.views) {
      const vp = this.viewport(v.id);
      const voi = vp.getProperties(this.volumeId(v.role))?.voiRange;
      const n = vp.getCamera().viewPlaneNormal as V3;
      out[v.id] = {
        width: voi ? voi.upper - voi.lower : NaN,
        level: voi ? (voi.upper + voi.lower) / 2 : NaN,
        zoom: vp.getZoom(),
        plane: names[v.axis],
        index: v.axis === 2 ? this.k : this.centre[v.axis],
        count: this.grid.dims[v.axis],
        positionMm: dot(centre, n),
        thicknessMm: g.spacing[v.axis],
      };
    }
    return out;
  }

  private viewChanged = (e: Event) => {
    if (e.type === Enums.Events.VOI_MODIFIED && !this.settingWindow) {
      // A window dragged with the mouse is no preset any more, and applies to every view of that sequence.
      this.preset = 'custom';
      const view = this.views.find((v) => this.elements.get(v.id) === e.currentTarget);
      const range = (e as CustomEvent<{ range?: { lower: number; upper: number } }>).detail?.range;
      if (view && range && this.views.some((v) => v.role === view.role && v.id !== view.id)) {
        this.applyWindow(view.role, { lower: range.lower, upper: range.upper });
        this.render(this.views.filter((v) => v.role === view.role && v.id !== view.id).map((v) => this.viewportId(v.id)));
      } else if (view && range) this.current.set(view.role, { lower: range.lower, upper: range.upper });
    }
    cancelAnimationFrame(this.viewFrame);
    this.viewFrame = requestAnimationFrame(() => this.onViewChange());
  };

  resetView(): void {
    if (!this.engine) return;
    for (const v of this.views) this.viewport(v.id).resetCamera();
    this.placeCameras(this.views);
    this.render();
    this.onSliceChange(this.k);
  }

  zoom(factor: number): void {
    if (!this.engine) return;
    for (const v of this.views) {
      const vp = this.viewport(v.id);
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

  /** Redraw these viewports (all without a list). */
  render(viewportIds?: string[]): void {
    if (!this.engine) return;
    if (viewportIds) this.engine.renderViewports(viewportIds);
    else this.engine.render();
    this.renderCount++;
  }

  /**
   * Voxel under a canvas point (CSS px in the view's element) and the image value there; null outside the grid.
   * In the acquisition plane k is the slice in view; in a reformat, the slice the point falls on.
   */
  voxelAt(viewId: string, x: number, y: number): { i: number; j: number; k: number; intensity: number } | null {
    const view = this.views.find((v) => v.id === viewId);
    if (!this.engine || !this.grid || !view) return null;
    const w = this.viewport(viewId).canvasToWorld([x, y]) as V3;
    const ijk = worldToVoxel(this.grid, w);
    if (!ijk) return null;
    const [i, j] = ijk;
    const k = view.axis === 2 ? this.k : ijk[2];
    const [nx, ny] = this.grid.dims;
    const img = cache.getVolume(this.volumeId(view.role));
    const intensity = Number(img?.voxelManager?.getAtIndex(k * nx * ny + j * nx + i) ?? NaN);
    return { i, j, k, intensity };
  }

  /** Canvas pixel (CSS px, relative to the view's element) of voxel (i, j, k); k defaults to the slice in view. */
  voxelToCanvas(viewId: string, i: number, j: number, k = this.k): [number, number] | null {
    if (!this.engine || !this.grid || !this.elements.has(viewId)) return null;
    const w = voxelToWorld(this.grid as Grid, i, j, k);
    const p = this.viewport(viewId).worldToCanvas(w as Types.Point3);
    return [p[0], p[1]];
  }

  /** Canvas pixel (CSS px) of a world point in a view. */
  worldToCanvas(viewId: string, w: V3): [number, number] | null {
    if (!this.engine || !this.elements.has(viewId)) return null;
    const p = this.viewport(viewId).worldToCanvas(w as Types.Point3);
    return [p[0], p[1]];
  }

  /** The canvas of a view (tests and screenshots). */
  canvas(viewId: string): HTMLCanvasElement | null {
    return this.elements.get(viewId)?.querySelector('canvas') ?? null;
  }

  private unobserve(): void {
    this.resizeObserver?.disconnect();
    this.resizeObserver = null;
    cancelAnimationFrame(this.resizeFrame);
    for (const el of this.elements.values()) {
      el.removeEventListener(Enums.Events.CAMERA_MODIFIED, this.viewChanged);
      el.removeEventListener(Enums.Events.VOI_MODIFIED, this.viewChanged);
    }
  }

  dispose(): void {
    this.unobserve();
    cancelAnimationFrame(this.viewFrame);
    clearTimeout(this.moveTimer);
    this.moveTimer = undefined;
    this.target = null;
    this.preset = 'auto';
    this.engine?.destroy();
    this.engine = null;
    this.views = [];
    this.elements = new Map();
  }

  /** After the overlays' volumes are gone: this study's image volumes, and what named them. */
  forgetVolumes(): void {
    // Called again by load() right after the store's dispose(): remove only what is still cached (removing a
    // volume twice throws, and the next study would never show).
    if (this.prefix) for (const id of this.roles.map((r) => this.volumeId(r))) if (cache.getVolumeLoadObject(id)) cache.removeVolumeLoadObject(id);
    this.prefix = '';
    this.grid = null;
    this.windows.clear();
    this.lesionWindows.clear();
    this.current.clear();
    this.roles = [];
  }

  viewport(viewId: string): Types.IVolumeViewport {
    return this.engine!.getViewport(this.viewportId(viewId)) as Types.IVolumeViewport;
  }

  /** The view shown by a Cornerstone viewport id. */
  viewOf(viewportId: string): ViewSpec | undefined {
    return this.views.find((v) => this.viewportId(v.id) === viewportId);
  }

  viewportId = (viewId: string) => `vp-${viewId}`;
  volumeId = (role: Role) => `${this.prefix}-${role}`;
}
