/**
 * Measures main/engine/brain-extraction.ts on the shared skull-on data (README, "Brain extraction"):
 * per open-ms volume the Dice and volume error against the expert brain mask and the time taken, wall clock and CPU (the skull test
 * included); per lgg
 * patient the share of the expert tumour mask that falls outside the extracted brain.
 *   npx tsx scripts/brain-extraction-measure.ts
 *   npx tsx scripts/brain-extraction-measure.ts --sweep surface|scalp|second   (margin × closing radius, the scalp band,
 *                                                   or the second pass's fraction of the interior median, capped or not:
 *                                                   Dice / volume error per open-ms volume, the most tumour outside on lgg,
 *                                                   TCGA_EZ_7264's brain in ml, CPU time per extraction)
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SECOND_PASS, SURFACE, brainIfUnstripped, extractBrain } from '../main/engine/brain-extraction';
import { readNifti } from '../main/io/nifti';
import { DATA } from '../tests/support/paths';

const fmt = (x: number, d = 3) => x.toFixed(d);

/** One setting of a sweep: the surface radii, and the second pass (SECOND_PASS when not given). */
type Setting = typeof SURFACE & { secondPass?: typeof SECOND_PASS };
const SWEEPS: Record<string, Setting[]> = {
  surface: [0.75, 1, 1.25, 1.5].flatMap((marginMm) => [0, 2, 3, 4].map((closingMm) => ({ ...SURFACE, marginMm, closingMm }))),
  scalp: [0, 4, 6, 8, 10].map((scalpMm) => ({ ...SURFACE, scalpMm })),
  second: [
    { fraction: 0, capped: true },
    ...[0.3, 0.4, 0.5, 0.6].map((fraction) => ({ fraction, capped: false })),
    ...[0.4, 0.5, 0.55, 0.6].map((fraction) => ({ fraction, capped: true })),
  ].map((secondPass) => ({ ...SURFACE, secondPass })),
};
const label = (s: Setting) => {
  const second = s.secondPass ?? SECOND_PASS;
  const pass = second.fraction > 0 ? `${second.capped ? 'min(first, ' : ''}${second.fraction} × median${second.capped ? ')' : ''}` : 'none';
  return `scalp ${s.scalpMm}, margin ${s.marginMm}, closing ${s.closingMm}, second pass ${pass}`;
};
/** extractBrain at one setting, adding its CPU seconds to cpu[n]. */
function extractTimed(data: Float32Array, geometry: Parameters<typeof extractBrain>[1], s: Setting, cpu: number[], n: number): Uint8Array {
  const c0 = process.cpuUsage();
  const brain = extractBrain(data, geometry, s, s.secondPass ?? SECOND_PASS);
  const c = process.cpuUsage(c0);
  cpu[n] += (c.user + c.system) / 1e6;
  return brain;
}

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
async function sweep(SWEEP: Setting[]) {
  const openMs = join(DATA, 'skull-on/open-ms');
  const names = readdirSync(openMs).sort();
  const rows = SWEEP.map(() => [] as string[]);
  const passes = SWEEP.map(() => 0);
  const cpu = SWEEP.map(() => 0);
  let volumes = 0;
  for (const name of names) {
    const flair = await readNifti(join(openMs, name, `${name}_flair.nii.xz`));
    const truth = (await readNifti(join(openMs, name, `${name}_brainmask.nii.xz`))).data;
    volumes++;
    SWEEP.forEach((s, n) => {
      const m = dice(extractTimed(flair.data, flair.geometry, s, cpu, n), truth);
      if (m.dice >= 0.95 && Math.abs(m.volumeError) <= 0.05) passes[n]++;
      rows[n].push(`${fmt(m.dice)} / ${(m.volumeError * 100).toFixed(1)} %`);
    });
  }
  const lgg = join(DATA, 'skull-on/lgg');
  const worst = SWEEP.map(() => 0);
  // TCGA_EZ_7264's brain (its bright scalp set the first threshold above the cortex; ~1100–1500 ml is a brain), and
  // how many lgg brains a setting changes from the first one's.
  const ez = SWEEP.map(() => 0);
  const changed = SWEEP.map(() => 0);
  const lggNames = readdirSync(lgg).sort();
  for (const name of lggNames) {
    const flair = await readNifti(join(lgg, name, `${name}_flair.nii.xz`));
    const seg = (await readNifti(join(lgg, name, `${name}_seg.nii.xz`))).data;
    volumes++;
    let first: Uint8Array | undefined;
    SWEEP.forEach((s, n) => {
      const brain = extractTimed(flair.data, flair.geometry, s, cpu, n);
      first ??= brain;
      if (brain.some((v, p) => v !== first![p])) changed[n]++;
      let tumour = 0, outside = 0, inside = 0;
      for (let p = 0; p < brain.length; p++) {
        if (brain[p]) inside++;
        if (seg[p]) { tumour++; if (!brain[p]) outside++; }
      }
      worst[n] = Math.max(worst[n], outside / tumour);
      if (name.startsWith('TCGA_EZ_7264')) ez[n] = (inside * flair.geometry.spacing.reduce((a, b) => a * b)) / 1000;
    });
  }
  console.log(`| setting (mm) | ${names.join(' | ')} | open-ms passing | lgg: most tumour outside | TCGA_EZ_7264 brain | lgg brains changed | CPU per volume |`);
  console.log(`| --- |${' --- |'.repeat(names.length + 5)}`);
  SWEEP.forEach((s, n) =>
    console.log(
      `| ${label(s)} | ${rows[n].join(' | ')} | ${passes[n]} of ${names.length} | ${(worst[n] * 100).toFixed(1)} % | ` +
        `${ez[n].toFixed(0)} ml | ${changed[n]} of ${lggNames.length} | ${fmt(cpu[n] / volumes, 2)} s |`,
    ),
  );
}

async function main() {
  const which = process.argv[process.argv.indexOf('--sweep') + 1];
  if (process.argv.includes('--sweep')) return sweep(SWEEPS[which] ?? SWEEPS.surface);
  console.log(`extraction (mm): ${label(SURFACE)}\n`);
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
