/**
 * The skull test's measure (brain-extraction.ts, outsideShare: the share of a volume's non-zero voxels outside the
 * brain extracted at about 3 mm) for every sequence file of the case folders given, to set its threshold
 * (docs/brain-extraction.md, "The skull test, measured again"):
 *
 *   npx tsx scripts/skull-test-measure.ts ../shared/data/brats-train/* ../shared/data/skull-on/lgg/* ../shared/data/skull-on/open-ms/*
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UNSTRIPPED_OUTSIDE_FRACTION, outsideShare } from '../main/engine/brain-extraction';
import { readNifti } from '../main/io/nifti';

const SEQUENCES = /_(t1|t1ce|t2|flair)\.nii(\.gz|\.xz)?$|-(t1n|t1c|t2w|t2f)\.nii(\.gz|\.xz)?$/;

for (const folder of process.argv.slice(2)) {
  const files = readdirSync(folder).filter((f) => SEQUENCES.test(f)).sort();
  const cells: string[] = [];
  for (const file of files) {
    const volume = await readNifti(join(folder, file));
    const share = outsideShare(volume.data, volume.geometry);
    const match = SEQUENCES.exec(file)!;
    cells.push(`${match[1] ?? match[3]} ${share.toFixed(3)}${share > UNSTRIPPED_OUTSIDE_FRACTION ? ' (skull)' : ''}`);
  }
  console.log(`${basename(folder)}: ${cells.join(', ') || 'no sequence files'}`);
}
