/**
 * Measures main/engine/brain-extraction.ts on the shared skull-on data (README, "Brain extraction"):
 * per open-ms volume the Dice and volume error against the expert brain mask and the time taken, wall clock and CPU (the skull test
 * included); per lgg
 * patient the share of the expert tumour mask that falls outside the extracted brain.
 *   npx tsx scripts/brain-extraction-measure.ts
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { brainIfUnstripped, extractBrain } from '../main/engine/brain-extraction';
import { readNifti } from '../main/io/nifti';
import { DATA } from '../tests/support/paths';

const fmt = (x: number, d = 3) => x.toFixed(d);

async function main() {
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
