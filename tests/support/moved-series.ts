/**
 * A patient who moved between series, as the scanner records it: every slice of a real series copy gets a new
 * ImagePositionPatient and ImageOrientationPatient (the voxels stay), so the series now lies elsewhere in the
 * study's frame of reference.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dcmjs from 'dcmjs';

type V3 = [number, number, number];
export interface RigidMove {
  /** Where a point (LPS mm) goes. */
  point(p: V3): V3;
  /** Where a direction goes. */
  vector(v: V3): V3;
}

export const shiftBy = (d: V3): RigidMove => ({ point: (p) => [p[0] + d[0], p[1] + d[1], p[2] + d[2]], vector: (v) => v });

/** A nod: turned by `deg` about the left-right axis through `pivot`. */
export function nodAbout(deg: number, pivot: V3): RigidMove {
  const t = (deg * Math.PI) / 180;
  const rot = (v: V3): V3 => [v[0], Math.cos(t) * v[1] - Math.sin(t) * v[2], Math.sin(t) * v[1] + Math.cos(t) * v[2]];
  return {
    point: (p) => {
      const r = rot([p[0] - pivot[0], p[1] - pivot[1], p[2] - pivot[2]]);
      return [r[0] + pivot[0], r[1] + pivot[1], r[2] + pivot[2]];
    },
    vector: rot,
  };
}

/** Move every slice of the series in `folder` (rewritten in place: give it a copy). */
export function moveSeries(folder: string, move: RigidMove): void {
  for (const f of readdirSync(folder)) {
    const path = join(folder, f);
    const bytes = readFileSync(path);
    const msg = dcmjs.data.DicomMessage.readFile(new Uint8Array(bytes).buffer);
    const ipp = msg.dict['00200032'].Value as number[];
    const iop = msg.dict['00200037'].Value as number[];
    const round = (x: number, d: number) => Number(x.toFixed(d));
    msg.dict['00200032'].Value = move.point(ipp.map(Number) as V3).map((x) => round(x, 4));
    msg.dict['00200037'].Value = [...move.vector(iop.slice(0, 3).map(Number) as V3), ...move.vector(iop.slice(3).map(Number) as V3)].map((x) => round(x, 6));
    writeFileSync(path, Buffer.from(msg.write()));
  }
}
