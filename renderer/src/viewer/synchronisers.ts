/** Zoom and pan of one sequence apply to all: they show the same anatomy on the same grid. */
import { SynchronizerManager, synchronizers } from '@cornerstonejs/tools';

const ZOOM_PAN_SYNC = 'halo-zoom-pan';

export function linkZoomPan(engineId: string, viewportIds: string[]): void {
  const sync = synchronizers.createZoomPanSynchronizer(ZOOM_PAN_SYNC);
  for (const viewportId of viewportIds) sync.add({ renderingEngineId: engineId, viewportId });
}

export function unlinkZoomPan(): void {
  if (SynchronizerManager.getSynchronizer(ZOOM_PAN_SYNC)) SynchronizerManager.destroySynchronizer(ZOOM_PAN_SYNC);
}
