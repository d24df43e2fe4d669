/**
 * `halo evaluate`: per-patient and mean Dice / Jaccard / HD95 (one sample and the ensemble), the variance's AUROC
 * for wrong pixels, false positives on tumour-free slices and a FLAIR-threshold baseline, for a folder of labelled
 * cases. The model cards' validation numbers come from this command.
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { InputError } from '../../errors';
import { evaluateCases, type EvaluationReport } from '../../evaluate/evaluate-cases';
import { writeFileAtomic } from '../../io/atomic';

interface EvaluateCliOptions {
  cases: string;
  model: string;
  ensemble?: string;
  steps?: string;
  sampler?: 'ddpm' | 'ddim';
  seed: string;
  slices: 'tumour' | 'all';
  stride: string;
  device: 'auto' | 'cpu' | 'cuda';
  json: boolean;
  out?: string;
  progress: boolean;
}

const whole = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new InputError(`${name} must be a whole number, got "${v}".`);
  return Number(v);
};

export function registerEvaluateCommand(program: Command): void {
  program
    .command('evaluate')
    .description('score a model on labelled cases: per patient and mean Dice/Jaccard/HD95, variance AUROC, false positives, FLAIR baseline')
    .requiredOption('--cases <dir>', 'a folder of BraTS case folders with ground truth (*_seg or *-seg), or one case folder')
    .option('--model <id>', 'model id (a folder of models/)', 'wt-4seq')
    .option('--ensemble <n>', 'ensemble size (default: the model card\'s)')
    .option('--steps <k>', 'sampling steps (default: the model card\'s)')
    .addOption(new Option('--sampler <kind>', 'sampler (default: the model card\'s)').choices(['ddpm', 'ddim']))
    .option('--seed <s>', 'random seed', '0')
    .addOption(new Option('--slices <which>', 'slices with tumour only, or every slice with brain (adds false positives on tumour-free slices)').choices(['tumour', 'all']).default('tumour'))
    .option('--stride <n>', 'evaluate every n-th of those slices', '1')
    .addOption(new Option('--device <d>', 'execution provider').choices(['auto', 'cpu', 'cuda']).default('auto'))
    .option('--json', 'print the report as JSON')
    .option('--out <file>', 'also write the JSON report to this file')
    .option('--no-progress', 'no progress bar')
    .action(async (o: EvaluateCliOptions) => evaluate(o));
}

async function evaluate(o: EvaluateCliOptions): Promise<void> {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  const bar = o.progress && process.stderr.isTTY
    ? new cliProgress.SingleBar({ format: 'evaluating |{bar}| {percentage}% | {name} ({n}/{total}) | ETA this case {eta_s}' }, cliProgress.Presets.shades_classic)
    : null;
  bar?.start(100, 0, { name: '', n: 0, total: 0, eta_s: '?' });
  let lastCase = -1;
  let report: EvaluationReport;
  try {
    report = await evaluateCases(resolve(o.cases), {
      modelId: o.model,
      device: o.device,
      sampler: { kind: o.sampler, steps: whole('--steps', o.steps) },
      ensemble: whole('--ensemble', o.ensemble),
      seed: whole('--seed', o.seed),
      cacheDir: null,
      slices: o.slices,
      stride: whole('--stride', o.stride)!,
      signal: controller.signal,
      onProgress: (p) => {
        bar?.update(Math.round(((p.caseIndex + p.fraction) / p.caseCount) * 100), {
          name: p.caseName, n: p.caseIndex + 1, total: p.caseCount, eta_s: p.etaSeconds === null ? '?' : `${Math.round(p.etaSeconds)}s`,
        });
        if (!bar && p.caseIndex !== lastCase) process.stderr.write(`halo: evaluating ${p.caseName} (${p.caseIndex + 1}/${p.caseCount})\n`);
        lastCase = p.caseIndex;
      },
    });
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
  }
  const json = JSON.stringify(report, null, 2) + '\n';
  if (o.out) await writeFileAtomic(resolve(o.out), json);
  process.stdout.write(o.json ? json : formatTable(report));
}

const f3 = (v: number | null) => (v === null ? '  -  ' : v.toFixed(3));
const f1 = (v: number | null) => (v === null ? '  -  ' : v.toFixed(1));

export function formatTable(r: EvaluationReport): string {
  const n = r.ensemble;
  const head = ['case', 'tumour sl.', 'free sl.', 'Dice 1', `Dice ${n}`, `HD95 ${n} mm`, 'AUROC var', 'FP cm²/slice', 'baseline Dice', 'baseline FP'];
  const row = (name: string, c: EvaluationReport['mean'] | EvaluationReport['cases'][number]) => [
    name, String(c.tumourSlices), String(c.tumourFreeSlices), f3(c.single.dice), f3(c.ensemble.dice), f1(c.ensemble.hd95_mm),
    f3(c.varianceAuroc), f1(c.falsePositiveCm2), f3(c.baseline.dice), f1(c.baseline.falsePositiveCm2),
  ];
  const rows = [head, ...r.cases.map((c) => row(c.case, c)), row(`mean of ${r.mean.patients}`, r.mean)];
  const widths = head.map((_, i) => Math.max(...rows.map((x) => x[i].length)));
  const line = (x: string[]) => x.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [
    `${r.model.id} ${r.model.version}, ${r.sampler.kind.toUpperCase()} ${r.sampler.steps} steps, ensemble ${n}, seed ${r.seed}, ` +
      `${r.slices === 'all' ? 'all slices with brain' : 'slices with tumour'}${r.stride > 1 ? `, every ${r.stride}th` : ''}, ${r.provider.toUpperCase()}`,
    `baseline: ${r.baseline}`,
    '',
    line(head),
    ...rows.slice(1, -1).map(line),
    line(rows[rows.length - 1]),
    '',
  ].join('\n');
}
