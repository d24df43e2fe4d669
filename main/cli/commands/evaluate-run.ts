/**
 * The work behind `halo evaluate` (loaded only when the command runs): progress, the report, the table.
 */
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { InputError } from '../../errors';
import { evaluateCases, type EvaluationReport } from '../../evaluate/evaluate-cases';
import { writeFileAtomic } from '../../io/atomic';
import type { EvaluateCliOptions } from './evaluate';

const whole = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new InputError(`${name} must be a whole number, got "${v}".`);
  return Number(v);
};

export async function evaluate(o: EvaluateCliOptions): Promise<void> {
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
