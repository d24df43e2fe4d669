/**
 * Measures the moved-sequence check (main/study/displacement.ts) on the shared real data: the head-centre
 * distance and head overlap (Dice) of every sequence against the FLAIR in aligned studies (BraTS cases, the
 * skull-on LGG patients, the demo), and in copies where one sequence is moved (shifted 3 or 5 mm along L, P or S
 * in turn, or nodded 3° or 5° about a point 80 mm below the volume's centre) to play a patient who moved between
 * series; and in copies resampled half a slice along their slice axis without moving (a series whose slices lie
 * between the FLAIR's). The thresholds in displacement.ts come from this table.
 *   npx tsx scripts/displacement-measure.ts
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNifti } from '../main/io/nifti';
import { loadStudy } from '../main/study/load-study';
import { resampleOnto } from '../main/study/align';
import { measureDisplacement, type SequenceOnGrid } from '../main/study/displacement';
import { sameGrid, type Geometry, type Vec3, type Volume } from '../main/volume/volume';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DATA = resolve(ROOT, '..', 'shared', 'data');

type Case = { label: string; flair: Volume; others: { role: string; volume: Volume }[] };

/** A copy of `v` shifted by `d` mm (LPS): its voxels now say the head is `d` further along. */
export function shifted(v: Volume, d: Vec3): Volume {
  const g = v.geometry;
  return { ...v, geometry: { ...g, origin: [g.origin[0] + d[0], g.origin[1] + d[1], g.origin[2] + d[2]] } };
}

/** A copy of `v` turned by `deg` about the left-right axis through `pivot` (a nod about the neck). */
export function nodded(v: Volume, deg: number, pivot: Vec3): Volume {
  const t = (deg * Math.PI) / 180;
  // Rotation about L (x): y' = c y - s z, z' = s y + c z.
  const rot = (p: Vec3): Vec3 => [p[0], Math.cos(t) * p[1] - Math.sin(t) * p[2], Math.sin(t) * p[1] + Math.cos(t) * p[2]];
  const g = v.geometry;
  const o = rot([g.origin[0] - pivot[0], g.origin[1] - pivot[1], g.origin[2] - pivot[2]]);
  const geometry: Geometry = { ...g, origin: [o[0] + pivot[0], o[1] + pivot[1], o[2] + pivot[2]], direction: g.direction.map(rot) as Geometry['direction'] };
  return { ...v, geometry };
}

/** A copy of `v` that did not move but was sampled half a slice further along its slice axis (blended slices). */
export function betweenSlices(v: Volume): Volume {
  const g = v.geometry;
  const geometry: Geometry = { ...g, origin: [0, 1, 2].map((a) => g.origin[a] + 0.5 * g.spacing[2] * g.direction[2][a]) as Vec3 };
  return { ...v, geometry, data: resampleOnto(v, geometry) };
}

function onGrid(name: string, v: Volume, ref: Volume): SequenceOnGrid {
  return { name, volume: v, aligned: sameGrid(v.geometry, ref.geometry) ? v.data : resampleOnto(v, ref.geometry) };
}

async function bratsCases(): Promise<Case[]> {
  const out: Case[] = [];
  const train = join(DATA, 'brats-train');
  // Two of the twenty: each moved copy is a full 240 x 240 x 155 resampling.
  for (const id of readdirSync(train).sort().slice(0, 2)) {
    const f = (s: string) => join(train, id, `${id}_${s}.nii.xz`);
    out.push({ label: `brats-train/${id}`, flair: await readNifti(f('flair')), others: await Promise.all(['t1', 't1ce', 't2'].map(async (role) => ({ role, volume: await readNifti(f(role)) }))) });
  }
  for (const [id, names] of [['BraTS-GLI-00027-000', ['t2f', 't1n', 't1c', 't2w']], ['BraTS-GLI-00028-000', ['t2f', 't1n', 't1c', 't2w']]] as const) {
    const f = (s: string) => join(DATA, 'brats', id, `${id}-${s}.nii.gz`);
    out.push({ label: `brats/${id}`, flair: await readNifti(f(names[0])), others: await Promise.all(names.slice(1).map(async (role) => ({ role, volume: await readNifti(f(role)) }))) });
  }
  return out;
}

async function lggCases(): Promise<Case[]> {
  const lgg = join(DATA, 'skull-on', 'lgg');
  const out: Case[] = [];
  for (const id of readdirSync(lgg).sort()) {
    const f = (s: string) => join(lgg, id, `${id}_${s}.nii.xz`);
    const others = [];
    for (const role of ['t1', 't1ce']) if (existsSync(f(role))) others.push({ role, volume: await readNifti(f(role)) });
    out.push({ label: `skull-on/lgg/${id}`, flair: await readNifti(f('flair')), others });
  }
  return out;
}

async function demoCase(): Promise<Case> {
  const s = await loadStudy({ kind: 'dicom', folder: join(ROOT, 'resources', 'demo') }, ['FLAIR', 'T1', 'T1ce', 'T2']);
  return { label: 'resources/demo (DICOM)', flair: s.reference, others: (['T1', 'T1ce', 'T2'] as const).map((r) => ({ role: r, volume: s.volumes[r]! })) };
}

const fmt = (x: number, d = 2) => x.toFixed(d);
const rows: string[] = [];
let worstAligned = { shift: 0, dice: 1 };
let worstBetween = { shift: 0, dice: 1 };
let leastMoved = { shift: Infinity, dice: 0 };
let leastMoved5 = { shift: Infinity, dice: 0 };
for (const c of [...(await lggCases()), ...(await bratsCases()), await demoCase()]) {
  if (!c.others.length) continue;
  const ref: SequenceOnGrid = { name: 'FLAIR', volume: c.flair, aligned: c.flair.data };
  const aligned = measureDisplacement(ref, c.others.map((o) => onGrid(o.role, o.volume, c.flair)));
  const [half] = measureDisplacement(ref, [onGrid('half a slice', betweenSlices(c.others[0].volume), c.flair)]);
  worstBetween = { shift: Math.max(worstBetween.shift, half.shiftMm), dice: Math.min(worstBetween.dice, half.dice) };
  const g = c.flair.geometry;
  const mid = [g.dims[0] / 2, g.dims[1] / 2, g.dims[2] / 2];
  const centreMm: Vec3 = [0, 1, 2].map((a) => g.origin[a] + mid[0] * g.spacing[0] * g.direction[0][a] + mid[1] * g.spacing[1] * g.direction[1][a] + mid[2] * g.spacing[2] * g.direction[2][a]) as Vec3;
  const neck: Vec3 = [centreMm[0], centreMm[1], centreMm[2] - 80];
  const first = c.others[0].volume;
  // The axis of the shift turns from case to case.
  const axis = rows.length % 3;
  const by = (mm: number) => [0, 1, 2].map((a) => (a === axis ? mm : 0)) as Vec3;
  const moved = measureDisplacement(ref, [
    onGrid('shift 3 mm', shifted(first, by(3)), c.flair),
    onGrid('shift 5 mm', shifted(first, by(5)), c.flair),
    onGrid('nod 3°', nodded(first, 3, neck), c.flair),
    onGrid('nod 5°', nodded(first, 5, neck), c.flair),
  ]);
  for (const d of moved.filter((x) => !x.name.endsWith('3 mm') && x.name !== 'nod 3°')) leastMoved5 = { shift: Math.min(leastMoved5.shift, d.shiftMm), dice: Math.max(leastMoved5.dice, d.dice) };
  for (const d of aligned) worstAligned = { shift: Math.max(worstAligned.shift, d.shiftMm), dice: Math.min(worstAligned.dice, d.dice) };
  for (const d of moved) leastMoved = { shift: Math.min(leastMoved.shift, d.shiftMm), dice: Math.max(leastMoved.dice, d.dice) };
  rows.push(
    `| ${c.label} | ${'LPS'[axis]} | ${aligned.map((d) => `${d.name} ${fmt(d.shiftMm, 1)} mm / ${fmt(d.dice)}`).join(', ')} | ${fmt(half.shiftMm, 1)} / ${fmt(half.dice)} | ${moved.map((d) => `${fmt(d.shiftMm, 1)} / ${fmt(d.dice)}`).join(', ')} |`,
  );
  process.stdout.write(rows[rows.length - 1] + '\n');
}
process.stdout.write(`\naligned: largest shift ${fmt(worstAligned.shift)} mm, lowest Dice ${fmt(worstAligned.dice, 3)}\n`);
process.stdout.write(`aligned, sampled half a slice along: largest shift ${fmt(worstBetween.shift)} mm, lowest Dice ${fmt(worstBetween.dice, 3)}\n`);
process.stdout.write(`moved by 3 mm or 3°: smallest shift ${fmt(leastMoved.shift)} mm, highest Dice ${fmt(leastMoved.dice, 3)}\n`);
process.stdout.write(`moved by 5 mm or 5°: smallest shift ${fmt(leastMoved5.shift)} mm, highest Dice ${fmt(leastMoved5.dice, 3)}\n`);
