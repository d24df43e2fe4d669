/** `halo import-nifti --case DIR --out DIR`: a BraTS NIfTI case -> a DICOM MR study (one series per sequence). */
import type { Command } from 'commander';

export function registerImportNiftiCommand(program: Command): void {
  program
    .command('import-nifti')
    .description('convert a BraTS NIfTI case (flair/t1/t1ce/t2 or t2f/t1n/t1c/t2w) into a DICOM MR study')
    .requiredOption('--case <dir>', 'BraTS case folder with one .nii/.nii.gz/.nii.xz per sequence')
    .requiredOption('--out <dir>', 'new or empty folder for the DICOM study')
    .action(async (opts: { case: string; out: string }) => {
      const { importNiftiCase } = await import('../../dicom/import-nifti');
      const result = await importNiftiCase(opts.case, opts.out);
      for (const s of result.series) {
        process.stdout.write(`${s.role}: ${s.files.length} slices -> ${s.folder}\n`);
      }
      process.stdout.write(`study ${result.studyInstanceUID} (patient ${result.patientID})\n`);
    });
}
