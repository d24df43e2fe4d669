/**
 * What the viewports show, apart from results: the one Viewer (Cornerstone3D), the layout and the views it shows,
 * the slice in view and where the reformats cut, orientation labels, window/level and zoom per view, the overlay
 * options and the readout under the cursor.
 */
import { reactive } from 'vue';
import type { Role } from '../../../main/app/contract';
import { planeNames, type Axis } from '../viewer/planes';
import { Viewer } from '../viewer/viewer';
import type { ViewSpec } from '../viewer/viewports';
import { studyState } from './study';
import { VARIANCE_THRESHOLD } from '../viewer/variance-colours';
import type { OverlayState } from '../viewer/overlays';
import type { WindowPreset } from '../viewer/viewports';

export const viewer = new Viewer();

/**
 * 'grid': the sequences side by side in the acquisition plane; 'one-three': one of them large; 'planes': one
 * sequence (mainRole) large in the acquisition plane with its two reformats beside it.
 */
export type Layout = 'grid' | 'one-three' | 'planes';

export const viewState = reactive({
  layout: 'grid' as Layout,
  mainRole: 'FLAIR' as Role,
  shownRoles: [] as Role[],
  /** The images of the open study are on screen. */
  viewerReady: false,
  k: 0,
  nz: 0,
  /** Column i and row j of the reference grid where the reformats cut it. */
  crosshair: [0, 0] as [number, number],
  /** Orientation letters of each view's edges, by view id. */
  labels: {} as Record<string, { top: string; bottom: string; left: string; right: string }>,
  overlay: { mask: true, maskStyle: 'outline', variance: true, varianceOpacity: 0.5, varianceThreshold: VARIANCE_THRESHOLD } as OverlayState,
  /** Values under the cursor (null when it is not over an image). */
  readout: null as { view: string; role: Role; i: number; j: number; k: number; intensity: number; probability: number | null; variance: number | null } | null,
  /** Per view: window width/level, zoom, plane, slice position and spacing (corner annotations); the active preset. */
  view: {} as ReturnType<Viewer['viewInfo']>,
  preset: 'auto' as WindowPreset | 'custom',
});

/** Go to slice k (a click, a jump, a key): drawn once the burst of input it belongs to is taken in. */
export function setSlice(k: number): void {
  viewer.requestSlice(k);
}

/** Step from the slice last asked for (not the one drawn, which may lag a frame behind). */
export function stepSlice(delta: number): void {
  viewer.scroll(delta);
}

export function setWindow(preset: WindowPreset): void {
  viewer.setWindow('all', preset);
}

/** Window width and level typed by the user, for one sequence (each has its own intensity scale). */
export function setWindowValues(role: Role, width: number, level: number): void {
  viewer.setWindowValues(role, width, level);
}

export function refreshView(): void {
  viewState.view = viewer.viewInfo();
  viewState.preset = viewer.preset;
  viewState.crosshair = viewer.crosshair;
  const labels: typeof viewState.labels = {};
  for (const v of viewer.views) labels[v.id] = viewer.labels(v.id);
  viewState.labels = labels;
}

const PLANE_ORDER = ['axial', 'sagittal', 'coronal'];

/**
 * The views the layout shows: each sequence in the acquisition plane (its id is the sequence's name), or in
 * 'planes' the main sequence in the acquisition plane and in the two reformats (ids like "FLAIR-sagittal").
 */
export function layoutViews(): ViewSpec[] {
  const roles = viewState.shownRoles;
  const direction = studyState.study?.reference?.direction;
  const role = viewState.mainRole;
  if (viewState.layout !== 'planes' || !direction || !roles.includes(role)) return roles.map((r) => ({ id: r, role: r, axis: 2 }));
  const names = planeNames(direction);
  const reformats = ([0, 1] as Axis[]).sort((a, b) => PLANE_ORDER.indexOf(names[a]) - PLANE_ORDER.indexOf(names[b]));
  return [{ id: role, role, axis: 2 }, ...reformats.map((axis) => ({ id: `${role}-${names[axis]}`, role, axis }))];
}

/** Move the reformats to column i and row j of the reference grid. */
export function setCrosshair(i: number, j: number): void {
  viewer.setCrosshair(i, j);
}

let elementsProvider: (() => Map<string, HTMLDivElement>) | null = null;
/** The viewport grid gives the viewer its elements (by view id), once Vue has created them. */
export function setElementsProvider(f: () => Map<string, HTMLDivElement>): void {
  elementsProvider = f;
}
export function viewportElements(): Map<string, HTMLDivElement> {
  if (!elementsProvider) throw new Error('The viewport grid is not mounted.');
  return elementsProvider();
}
