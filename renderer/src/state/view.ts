/**
 * What the viewports show, apart from results: the one Viewer (Cornerstone3D), the layout, the slice in view,
 * orientation labels, window/level and zoom per viewport, the overlay options and the readout under the cursor.
 */
import { reactive } from 'vue';
import type { Role } from '../../../main/app/contract';
import { Viewer } from '../viewer/viewer';
import { VARIANCE_THRESHOLD } from '../viewer/variance-colours';
import type { OverlayState } from '../viewer/overlays';
import type { WindowPreset } from '../viewer/viewports';

export const viewer = new Viewer();

export const viewState = reactive({
  layout: 'grid' as 'grid' | 'one-three',
  mainRole: 'FLAIR' as Role,
  shownRoles: [] as Role[],
  /** The images of the open study are on screen. */
  viewerReady: false,
  k: 0,
  nz: 0,
  labels: { top: '', bottom: '', left: '', right: '' },
  overlay: { mask: true, maskStyle: 'outline', variance: true, varianceOpacity: 0.5, varianceThreshold: VARIANCE_THRESHOLD } as OverlayState,
  /** Values under the cursor (null when it is not over an image). */
  readout: null as { role: Role; i: number; j: number; k: number; intensity: number; probability: number | null; variance: number | null } | null,
  /** Per viewport: window width/level, zoom, slice position and spacing (corner annotations); the active preset. */
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
}

let elementsProvider: (() => Map<Role, HTMLDivElement>) | null = null;
/** The viewport grid gives the viewer its elements, once Vue has created them. */
export function setElementsProvider(f: () => Map<Role, HTMLDivElement>): void {
  elementsProvider = f;
}
export function viewportElements(): Map<Role, HTMLDivElement> {
  if (!elementsProvider) throw new Error('The viewport grid is not mounted.');
  return elementsProvider();
}
