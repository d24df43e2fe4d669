/**
 * `halo evaluate`: per-patient and mean Dice / Jaccard / HD95 (one sample and the ensemble), the variance's AUROC
 * for wrong pixels, false positives on tumour-free slices and a FLAIR-threshold baseline, for a folder of labelled
 * cases. The model cards' validation numbers come from this command.
 */
import { Command, Option } from 'commander';
import { DEVICE_PREFERENCES } from '../../model/device';
import type { EvaluateCliOptions } from './evaluate-run';

export function registerEvaluateCommand(program: Command): void {
  program
    .command('evaluate')
    .description('score a model on labelled cases: per patient and mean Dice/Jaccard/HD95, variance AUROC, false positives, FLAIR baseline')
    .requiredOption('--cases <dir>', 'a folder of case folders with ground truth (*_seg or *-seg; .nii, .nii.gz or .nii.xz), or one case folder')
    .option('--patients <names>', 'only these case folders of --cases, comma-separated (e.g. a data set\'s validation patients)')
    .option('--model <id>', 'model id (a folder of models/)', 'wt-4seq')
    .option('--ensemble <n>', 'ensemble size (default: the model card\'s)')
    .option('--steps <k>', 'sampling steps (default: the model card\'s)')
    .addOption(new Option('--sampler <kind>', 'sampler (default: the model card\'s)').choices(['ddpm', 'ddim']))
    .option('--seed <s>', 'random seed', '0')
    .addOption(new Option('--slices <which>', 'slices with tumour only, or every slice with brain (adds false positives on tumour-free slices, and with --stride 1 the whole-volume 3D Dice)').choices(['tumour', 'all']).default('tumour'))
    .option('--stride <n>', 'evaluate every n-th of those slices', '1')
    .addOption(new Option('--protocol <p>', "slices: the slices chosen by --slices and --stride; paper: the paper's Table 1 (tumour slices 80-128 of 155-slice BraTS volumes, empty count, Dice without the empty ones) plus whole-volume 3D Dice").choices(['slices', 'paper']).default('slices'))
    .option('--no-volume', "with --protocol paper: sample only the paper's slices (no whole-volume 3D Dice or false positives; several times faster)")
    .option('--cache <dir>', 'read and write the ensemble cache in this folder (default: sample afresh, no cache), so that a rerun costs no sampling')
    .addOption(new Option('--device <d>', 'execution provider (auto: CUDA, then WebGPU, then CPU)').choices(DEVICE_PREFERENCES).default('auto'))
    .option('--json', 'print the report as JSON')
    .option('--out <file>', 'also write the JSON report to this file')
    .option('--no-progress', 'no progress bar')
    .action(async (o: EvaluateCliOptions) => (await import('./evaluate-run')).evaluate(o));
}

