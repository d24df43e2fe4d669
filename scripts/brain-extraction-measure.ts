/**
 * Measures main/engine/brain-extraction.ts on the shared skull-on data (README, "Brain extraction"):
 * per open-ms volume the Dice and volume error against the expert brain mask and the time taken, wall clock and CPU (the skull test
 * included); per lgg
 * patient the share of the expert tumour mask that falls outside the extracted brain.
 *   npx tsx scripts/brain-extraction-measure.ts
 *   npx tsx scripts/brain-extraction-measure.ts --sweep surface|scalp   (margin × closing radius, or the scalp band:
 *                                                   Dice / volume error per open-ms volume, the most tumour outside on lgg)
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SURFACE, brainIfUnstripped, extractBrain } from '../main/engine/brain-extraction';
import { readNifti } from '../main/io/nifti';
import { DATA } from '../tests/support/paths';

const fmt = (x: number, d = 3) => x.toFixed(d);

const SWEEPS: Record<string, (typeof SURFACE)[]> = {
  surface: [0.75, 1, 1.25, 1.5].flatMap((marginMm) => [0, 2, 3, 4].map((closingMm) => ({ ...SURFACE, marginMm, closingMm }))),
  scalp: [0, 4, 6, 8, 10].map((scalpMm) => ({ ...SURFACE, scalpMm })),
};
const label = (s: typeof SURFACE) => `scalp ${s.scalpMm}, margin ${s.marginMm}, closing ${s.closingMm}`;

function dice(a: Uint8Array, b: ArrayLike<number>): { dice: number; volumeError: number } {
  let both = 0, mine = 0, theirs = 0;
  for (let p = 0; p < a.length; p++) {
    if (a[p]) mine++;
    if (b[p]) theirs++;
    if (a[p] && b[p]) both++;
  }
  return { dice: (2 * both) / (mine + theirs), volumeError: (mine - theirs) / theirs };
}

/** Every setting of SWEEP on every volume: one row per setting, one cell per volume (open-ms Dice / volume %, then the worst tumour share outside on lgg). */
async function sweep(SWEEP: (typeof SURFACE)[]) {
  const openMs = join(DATA, 'skull-on/open-ms');
  const names = readdirSync(openMs).sort();
  const rows = SWEEP.map(() => [] as string[]);
  const passes = SWEEP.map(() => 0);
  for (const name of names) {
    const flair = await readNifti(join(openMs, name, `${name}_flair.nii.xz`));
    const truth = (await readNifti(join(openMs, name, `${name}_brainmask.nii.xz`))).data;
    SWEEP.forEach((s, n) => {
      const m = dice(extractBrain(flair.data, flair.geometry, s), truth);
      if (m.dice >= 0.95 && Math.abs(m.volumeError) <= 0.05) passes[n]++;
      rows[n].push(`${fmt(m.dice)} / ${(m.volumeError * 100).toFixed(1)} %`);
    });
  }
  const lgg = join(DATA, 'skull-on/lgg');
  const worst = SWEEP.map(() => 0);
  for (const name of readdirSync(lgg).sort()) {
    const flair = await readNifti(join(lgg, name, `${name}_flair.nii.xz`));
    const seg = (await readNifti(join(lgg, name, `${name}_seg.nii.xz`))).data;
    SWEEP.forEach((s, n) => {
      const brain = extractBrain(flair.data, flair.geometry, s);
      let tumour = 0, outside = 0;
      for (let p = 0; p < brain.length; p++) if (seg[p]) { tumour++; if (!brain[p]) outside++; }
      worst[n] = Math.max(worst[n], outside / tumour);
    });
  }
  console.log(`| setting (mm) | ${names.join(' | ')} | open-ms passing | lgg: most tumour outside |`);
  console.log(`| --- |${' --- |'.repeat(names.length + 2)}`);
  SWEEP.forEach((s, n) => console.log(`| ${label(s)} | ${rows[n].join(' | ')} | ${passes[n]} of ${names.length} | ${(worst[n] * 100).toFixed(1)} % |`));
}

async function main() {
  const which = process.argv[process.argv.indexOf('--sweep') + 1];
  if (process.argv.includes('--sweep')) return sweep(SWEEPS[which] ?? SWEEPS.surface);
  console.log(`extraction: ${label(SURFACE)} mm\n`);
  const openMs = join(DATA, 'skull-on/open-ms');
  console.log('| open-ms volume | grid | Dice | volume error | time (CPU) | skull detected |\n| --- | --- | --- | --- | --- | --- |');
  for (const name of readdirSync(openMs).sort()) {
    const flair = await readNifti(join(openMs, name, `${name}_flair.nii.xz`));
    const truth = (await readNifti(join(openMs, name, `${name}_brainmask.nii.xz`))).data;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    // What a study costs: the skull test at 3 mm, then the extraction.
    const found = brainIfUnstripped(flair.data, flair.geometry);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const brain = found ?? extractBrain(flair.data, flair.geometry);
    let both = 0, mine = 0, theirs = 0;
    for (let p = 0; p < brain.length; p++) {
      if (brain[p]) mine++;
      if (truth[p]) theirs++;
      if (brain[p] && truth[p]) both++;
    }
    const g = flair.geometry;
    console.log(
      `| ${name} | ${g.dims.join('×')}, ${g.spacing.map((s) => s.toFixed(2)).join('×')} mm | ${fmt((2 * both) / (mine + theirs))} | ` +
        `${(((mine - theirs) / theirs) * 100).toFixed(1)} % | ${fmt(seconds, 2)} s (${fmt(cpuSeconds, 2)} s) | ${found ? 'yes' : 'NO'} |`,
    );
  }
  const lgg = join(DATA, 'skull-on/lgg');
  console.log('\n| lgg patient | tumour voxels | outside the brain |\n| --- | --- | --- |');
  for (const name of readdirSync(lgg).sort()) {
    const flair = await readNifti(join(lgg, name, `${name}_flair.nii.xz`));
    const seg = (await readNifti(join(lgg, name, `${name}_seg.nii.xz`))).data;
    const brain = extractBrain(flair.data, flair.geometry);
    let tumour = 0, outside = 0;
    for (let p = 0; p < brain.length; p++) {
      if (!seg[p]) continue;
      tumour++;
      if (!brain[p]) outside++;
    }
    console.log(`| ${name} | ${tumour} | ${((outside / tumour) * 100).toFixed(1)} % |`);
  }
}

await main();
