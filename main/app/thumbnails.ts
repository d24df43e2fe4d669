/**
 * Series thumbnails for the series browser: the middle (imaged) slice of a series, as stored (rows top to bottom),
 * windowed to its 1st–99th percentile and shrunk to fit a square of `size` pixels with its true aspect ratio.
 */
import { seriesToVolume, type DicomSeries } from '../dicom/read-study';

export interface Thumbnail {
  rows: number;
  cols: number;
  /** 8-bit grey, row-major. */
  pixels: Uint8Array;
}

/** null when the series cannot be read as a volume (the browser shows it without a picture). */
export function seriesThumbnail(series: DicomSeries, size = 96): Thumbnail | null {
  let vol;
  try {
    vol = seriesToVolume(series);
  } catch {
    return null;
  }
  const [nx, ny, nz] = vol.geometry.dims;
  const [sx, sy] = vol.geometry.spacing;
  // The imaged slice nearest the middle: a series with missing slices may have none at the middle itself.
  const imaged = (k: number) => vol.source.kind !== 'dicom' || vol.source.instances[k] !== null;
  const mid = Math.floor(nz / 2);
  const k = Array.from({ length: nz }, (_, n) => n).sort((a, b) => Math.abs(a - mid) - Math.abs(b - mid) || a - b).find(imaged) ?? mid;
  const plane = vol.data.subarray(k * nx * ny, (k + 1) * nx * ny);
  const sorted = Float32Array.from(plane).sort();
  const lo = sorted[Math.floor(0.01 * (sorted.length - 1))];
  const hi = sorted[Math.floor(0.99 * (sorted.length - 1))];
  const wMm = nx * sx;
  const hMm = ny * sy;
  const scale = size / Math.max(wMm, hMm);
  const cols = Math.max(1, Math.round(wMm * scale));
  const rows = Math.max(1, Math.round(hMm * scale));
  const pixels = new Uint8Array(rows * cols);
  const range = hi > lo ? hi - lo : 1;
  for (let r = 0; r < rows; r++) {
    const j = Math.min(ny - 1, Math.floor(((r + 0.5) / rows) * ny));
    for (let c = 0; c < cols; c++) {
      const i = Math.min(nx - 1, Math.floor(((c + 0.5) / cols) * nx));
      const v = (plane[j * nx + i] - lo) / range;
      pixels[r * cols + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
    }
  }
  return { rows, cols, pixels };
}
