/**
 * The viewports: one rendering engine, one orthographic viewport per sequence, all on the reference (FLAIR)
 * grid, in its acquisition plane, always moved together by k of that grid. Owns the cameras, the window/level
 * of each sequence, the sizes of the canvases, and the mapping between canvas points and voxels.
 */
import { Enums, RenderingEngine, cache, volumeLoader, type Types } from '@cornerstonejs/core';
import type { GridView, Role } from '../../../main/app/contract';
import { acquisitionCamera, add, dot, edgeLabels, percentileWindow, sub, voxelToWorld, type V3 } from './geometry';

export interface LoadedVolume {
  role: Role;
  data: Float32Array;
}

export type WindowPreset = 'auto' | 'soft' | 'wide' | 'bright';

type Grid = { origin: V3; spacing: V3; direction: [V3, V3, V3] };

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
  roles: Role[] = [];
  private elements = new Map<Role, HTMLDivElement>();
  private windows = new Map<Role, { lower: number; upper: number }>();
  private k = 0;
  private resizeObserver: ResizeObserver | null = null;
  private resizeFrame = 0;
  private viewFrame = 0;
  /** Renders requested (tests: a result for a slice out of view must not re-render the viewports). */
  renderCount = 0;
  /** The window preset last applied to all viewports, or 'custom' after a manual change. */
  preset: WindowPreset | 'custom' = 'auto';
  private settingPreset = false;
  /** Called (once a frame at most) when a viewport's window/level, zoom or pan changed. */
  onViewChange: () => void = () => undefined;
  /** Called when the cameras reached slice k, before the redraw (overlays push that slice's voxels). */
  onSliceMoved: (k: number) => void = () => undefined;
  onSliceChange: (k: number) => void = () => undefined;

  /** Create the engine, one volume per sequence and one viewport per element. */
  open(studyId: string, grid: GridView, volumes: LoadedVolume[], elements: Map<Role, HTMLDivElement>): void {
    this.grid = grid;
    this.prefix = `halo-${studyId}-${Date.now().toString(36)}`;
    this.roles = volumes.map((v) => v.role);
    this.elements = elements;
    this.engine = new RenderingEngine('halo-engine');
    for (const v of volumes) {
      createGridVolume(this.volumeId(v.role), grid, v.data);
      this.windows.set(v.role, percentileWindow(v.data));
    }
    const cam = acquisitionCamera(grid.direction as [V3, V3, V3]);
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
  }

  /** Put each sequence in its viewport at its automatic window, and follow the user's view changes. */
  async showVolumes(): Promise<void> {
    for (const role of this.roles) {
      const vp = this.viewport(role);
      await vp.setVolumes([{ volumeId: this.volumeId(role) }]);
      vp.setProperties({ voiRange: this.windows.get(role)! }, this.volumeId(role));
    }
    for (const el of this.elements.values()) {
      el.addEventListener(Enums.Events.CAMERA_MODIFIED, this.viewChanged);
      el.addEventListener(Enums.Events.VOI_MODIFIED, this.viewChanged);
    }
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
    return this.roles.map((r) => this.viewportId(r));
  }

  /** k of the slice in view (reference grid). */
  get slice(): number {
    return this.k;
  }

  get sliceCount(): number {
    return this.grid?.dims[2] ?? 0;
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
    this.target = this.clamp(k);
    this.moveTimer ??= setTimeout(() => {
      this.moveTimer = undefined;
      if (this.target !== null) this.setSlice(this.target);
    }, 0);
  }

  private clamp(k: number): number {
    return Math.max(0, Math.min((this.grid?.dims[2] ?? 1) - 1, Math.round(k)));
  }

  /** Move every camera to slice k now (and forget a slice asked for while scrolling). */
  setSlice(k: number): void {
    if (!this.engine || !this.grid) return;
    this.target = null;
    this.k = this.clamp(k);
    this.onSliceMoved(this.k);
    const target = voxelToWorld(this.grid as Grid, 0, 0, this.k);
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
    const g = this.grid as Grid;
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

  render(): void {
    this.engine?.render();
    this.renderCount++;
  }

  /**
   * Voxel under a canvas point (CSS px in the viewport element) of the slice in view, and the image value
   * there; null outside the grid.
   */
  voxelAt(role: Role, x: number, y: number): { i: number; j: number; k: number; intensity: number } | null {
    if (!this.engine || !this.grid || !this.roles.includes(role)) return null;
    const w = this.viewport(role).canvasToWorld([x, y]) as V3;
    const g = this.grid as Grid;
    const d = sub(w, g.origin);
    const i = Math.round(dot(d, g.direction[0]) / g.spacing[0]);
    const j = Math.round(dot(d, g.direction[1]) / g.spacing[1]);
    const [nx, ny] = this.grid.dims;
    if (i < 0 || j < 0 || i >= nx || j >= ny) return null;
    const img = cache.getVolume(this.volumeId(role));
    const intensity = Number(img?.voxelManager?.getAtIndex(this.k * nx * ny + j * nx + i) ?? NaN);
    return { i, j, k: this.k, intensity };
  }

  /** Canvas pixel (CSS px, relative to the viewport element) of voxel (i, j) of the current slice. */
  voxelToCanvas(role: Role, i: number, j: number): [number, number] | null {
    if (!this.engine || !this.grid) return null;
    const w = voxelToWorld(this.grid as Grid, i, j, this.k);
    const p = this.viewport(role).worldToCanvas(w as Types.Point3);
    return [p[0], p[1]];
  }

  /** The canvas of a viewport (tests and screenshots). */
  canvas(role: Role): HTMLCanvasElement | null {
    return this.elements.get(role)?.querySelector('canvas') ?? null;
  }

  dispose(): void {
    this.resizeObserver?.disconnect();
    this.resizeObserver = null;
    cancelAnimationFrame(this.resizeFrame);
    for (const el of this.elements.values()) {
      el.removeEventListener(Enums.Events.CAMERA_MODIFIED, this.viewChanged);
      el.removeEventListener(Enums.Events.VOI_MODIFIED, this.viewChanged);
    }
    cancelAnimationFrame(this.viewFrame);
    clearTimeout(this.moveTimer);
    this.moveTimer = undefined;
    this.target = null;
    this.preset = 'auto';
    this.engine?.destroy();
    this.engine = null;
  }

  /** After the overlays' volumes are gone: this study's image volumes, and what named them. */
  forgetVolumes(): void {
    // Called again by load() right after the store's dispose(): remove only what is still cached (removing a
    // volume twice throws, and the next study would never show).
    if (this.prefix) for (const id of this.roles.map((r) => this.volumeId(r))) if (cache.getVolumeLoadObject(id)) cache.removeVolumeLoadObject(id);
    this.prefix = '';
    this.grid = null;
    this.windows.clear();
    this.roles = [];
  }

  viewport(role: Role): Types.IVolumeViewport {
    return this.engine!.getViewport(this.viewportId(role)) as Types.IVolumeViewport;
  }

  viewportId = (role: Role) => `vp-${role}`;
  volumeId = (role: Role) => `${this.prefix}-${role}`;
}
