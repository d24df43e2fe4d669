/**
 * Rebuilds resources/demo/: the bundled demo study (a real BraTS 2023 glioma case, see README.md here).
 *
 *   npx tsx resources/make-demo.ts [--case DIR] [--out DIR]
 *
 * The full case (4 sequences x 155 slices x 240 x 240 int16, ~71 MB as DICOM) is too big to ship, so it is
 * made smaller honestly: an axial slab of SLAB slices centred on the tumour (the slice with the most
 * FLAIR-hyperintense brain voxels), cropped in-plane to the bounding box of the brain over that slab plus a
 * margin. Voxel values and voxel size are untouched; the geometry (origin) moves with the crop, so the DICOM
 * positions are the true positions of the kept voxels. The cropped NIfTI files go through the project's own
 * `halo import-nifti`, exactly as a user would import a case.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNifti, writeNifti } from '../main/io/nifti';
import { voxelToWorld, type Geometry, type Volume } from '../main/volume/volume';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const caseDir = resolve(arg('--case', join(root, '../shared/data/brats/BraTS-GLI-00027-000')));
const outDir = resolve(arg('--out', join(here, 'demo')));
const SLAB = Number(arg('--slab', '48'));
const MARGIN = 4;
const LIMIT_BYTES = 15 * 1024 * 1024;

const names = (await readdir(caseDir)).filter((n) => /-(t1n|t1c|t2w|t2f)\.nii(\.gz)?$/.test(n)).sort();
if (names.length !== 4) throw new Error(`expected 4 BraTS 2023 sequences in ${caseDir}, found ${names.join(', ')}`);
const vols = new Map<string, Volume>();
for (const n of names) vols.set(n, await readNifti(join(caseDir, n)));
const flair = vols.get(names.find((n) => n.includes('-t2f'))!)!;
const [nx, ny, nz] = flair.geometry.dims;
const plane = nx * ny;

// Tumour centre: the slice with the most brain voxels above the 99th percentile of FLAIR brain intensity.
const brainValues = flair.data.filter((v) => v > 0).sort();
const p99 = brainValues[Math.floor(brainValues.length * 0.99)];
let bestK = 0;
let bestCount = -1;
for (let k = 0; k < nz; k++) {
  let c = 0;
  for (let p = 0; p < plane; p++) if (flair.data[k * plane + p] > p99) c++;
  if (c > bestCount) [bestK, bestCount] = [k, c];
}
const k0 = Math.max(0, Math.min(nz - SLAB, bestK - Math.floor(SLAB / 2)));
const k1 = k0 + SLAB; // half-open

// In-plane bounding box of the brain (non-zero in any sequence) over the slab.
let i0 = nx, i1 = -1, j0 = ny, j1 = -1;
for (const v of vols.values()) {
  for (let k = k0; k < k1; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        if (v.data[i + nx * (j + ny * k)] !== 0) {
          if (i < i0) i0 = i;
          if (i > i1) i1 = i;
          if (j < j0) j0 = j;
          if (j > j1) j1 = j;
        }
      }
    }
  }
}
i0 = Math.max(0, i0 - MARGIN);
j0 = Math.max(0, j0 - MARGIN);
i1 = Math.min(nx - 1, i1 + MARGIN);
j1 = Math.min(ny - 1, j1 + MARGIN);
const cx = i1 - i0 + 1;
const cy = j1 - j0 + 1;
process.stdout.write(`tumour centre slice ${bestK}; slab ${k0}..${k1 - 1}; crop i ${i0}..${i1}, j ${j0}..${j1} (${cx} x ${cy})\n`);

const work = await mkdtemp(join(tmpdir(), 'halo-demo-'));
const caseName = basename(caseDir);
const cropCase = join(work, caseName);
await (await import('node:fs/promises')).mkdir(cropCase);
for (const [name, v] of vols) {
  const g: Geometry = { ...v.geometry, dims: [cx, cy, SLAB], origin: voxelToWorld(v.geometry, i0, j0, k0) };
  const data = new Float32Array(cx * cy * SLAB);
  for (let k = 0; k < SLAB; k++) {
    for (let j = 0; j < cy; j++) {
      const src = i0 + nx * (j0 + j + ny * (k0 + k));
      data.set(v.data.subarray(src, src + cx), cx * (j + cy * k));
    }
  }
  await writeNifti(join(cropCase, name.replace(/\.nii(\.gz)?$/, '.nii.gz')), g, data, {
    type: 'float32',
    description: `${caseName} slab ${k0}-${k1 - 1} crop ${i0},${j0} ${cx}x${cy}`,
  });
}

await rm(outDir, { recursive: true, force: true });
const run = spawnSync(process.execPath, [join(root, 'bin/halo.mjs'), 'import-nifti', '--case', cropCase, '--out', outDir], {
  stdio: 'inherit',
  cwd: root,
});
await rm(work, { recursive: true, force: true });
if (run.status !== 0) throw new Error(`halo import-nifti failed (exit ${run.status})`);

let total = 0;
const walk = async (d: string): Promise<void> => {
  for (const e of await readdir(d, { withFileTypes: true })) {
    if (e.isDirectory()) await walk(join(d, e.name));
    else total += (await stat(join(d, e.name))).size;
  }
};
await walk(outDir);
process.stdout.write(`demo study: ${(total / 1024 / 1024).toFixed(1)} MB in ${outDir}\n`);
if (total > LIMIT_BYTES) throw new Error(`the demo study is ${total} bytes, over the ${LIMIT_BYTES}-byte limit; use a thinner --slab`);
