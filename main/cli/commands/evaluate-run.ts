/**
 * The work behind `halo evaluate` (loaded only when the command runs): progress, the report, the table.
 */
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { InputError } from '../../errors';
import { evaluateCases, type EvaluationReport } from '../../evaluate/evaluate-cases';
import { FAR_FROM_TUMOUR_MM } from '../../evaluate/uncertainty-metrics';
import { writeFileAtomic } from '../../io/atomic';
import type { DevicePreference } from '../../model/device';

export interface EvaluateCliOptions {
  cases: string;
  patients?: string;
  model: string;
  ensemble?: string;
  steps?: string;
  sampler?: 'ddpm' | 'ddim';
  seed: string;
  slices: 'tumour' | 'all';
  stride: string;
  protocol: 'slices' | 'paper';
  volume: boolean;
  device: DevicePreference;
  cache?: string;
  json: boolean;
  out?: string;
  progress: boolean;
}

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
      cacheDir: o.cache ? resolve(o.cache) : null,
      slices: o.slices,
      stride: whole('--stride', o.stride)!,
      protocol: o.protocol,
      volume: o.volume,
      patients: o.patients?.split(',').map((p) => p.trim()).filter(Boolean),
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
  process.stdout.write(o.json ? json : (report.protocol === 'paper' ? formatPaperTable(report) : formatTable(report)) + formatUncertaintyTable(report));
}

const f3 = (v: number | null) => (v === null ? '  -  ' : v.toFixed(3));
const f1 = (v: number | null) => (v === null ? '  -  ' : v.toFixed(1));

export function formatTable(r: EvaluationReport): string {
  const n = r.ensemble;
  const volume = !!r.mean.volumeDice3d;
  const head = ['case', 'tumour sl.', 'free sl.', 'Dice 1', `Dice ${n}`, ...(volume ? [`3D Dice ${n}`] : []), `HD95 ${n} mm`, 'AUROC var',
    'FP cm²/slice', 'baseline Dice', ...(volume ? ['baseline 3D'] : []), 'baseline FP', 'tumour outside brain'];
  const row = (name: string, c: EvaluationReport['mean'] | EvaluationReport['cases'][number]) => [
    name, String(c.tumourSlices), String(c.tumourFreeSlices), f3(c.single.dice), f3(c.ensemble.dice),
    ...(volume ? [f3(c.volumeDice3d?.ensemble ?? null)] : []), f1(c.ensemble.hd95_mm), f3(c.varianceAuroc), f1(c.falsePositiveCm2),
    f3(c.baseline.dice), ...(volume ? [f3(c.volumeDice3d?.baseline ?? null)] : []), f1(c.baseline.falsePositiveCm2),
    `${(100 * c.tumourOutsideBrain).toFixed(1)} %`,
  ];
  const rows = [head, ...r.cases.map((c) => row(c.case, c)), row(`mean of ${r.mean.patients}`, r.mean)];
  const widths = head.map((_, i) => Math.max(...rows.map((x) => x[i].length)));
  const line = (x: string[]) => x.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [
    `${r.model.id} ${r.model.version}, ${r.sampler.kind.toUpperCase()} ${r.sampler.steps} steps, ensemble ${n}, seed ${r.seed}, ` +
      `${r.slices === 'all' ? 'all slices with brain' : 'slices with tumour'}${r.stride > 1 ? `, every ${r.stride}th` : ''}, ${r.provider.toUpperCase()}`,
    `baseline: ${r.baseline}`,
    ...(r.mean.brainExtracted ? [`brain extracted automatically (skull on) in ${r.mean.brainExtracted} of ${r.mean.patients} patients, as halo segment does`] : []),
    '',
    line(head),
    ...rows.slice(1, -1).map(line),
    line(rows[rows.length - 1]),
    '',
  ].join('\n');
}

/** The paper's Table 1 layout: Dice and Jaccard with the non-empty ones in brackets, HD95, empty, 3D Dice. */
export function formatPaperTable(r: EvaluationReport): string {
  const n = r.ensemble;
  const pair = (all: number | null, kept: number | null) => `${f3(all)} (${f3(kept)})`;
  const head = ['case', 'slices', 'Dice 1', `Dice ${n}`, `Jaccard ${n}`, `HD95 ${n} mm`, `empty ${n}`, `3D Dice ${n} 80-128`, `3D Dice ${n} volume`,
    'AUROC var', 'FP cm²/slice', 'baseline Dice', 'baseline 3D volume'];
  const rows = r.cases.map((c) => {
    const p = c.paper!;
    return [c.case, String(c.tumourSlices), pair(c.single.dice, p.nonEmpty.single.dice), pair(c.ensemble.dice, p.nonEmpty.ensemble.dice),
      pair(c.ensemble.jaccard, p.nonEmpty.ensemble.jaccard), f1(c.ensemble.hd95_mm), String(p.empty.ensemble), f3(p.dice3dRange.ensemble),
      f3(c.volumeDice3d?.ensemble ?? null), f3(c.varianceAuroc), f1(c.falsePositiveCm2), f3(c.baseline.dice), f3(c.volumeDice3d?.baseline ?? null)];
  });
  const m = r.mean, mp = m.paper!;
  const inRange = r.cases.filter((c) => c.paper!.perSlice.length).length;
  rows.push([`mean of ${m.patients}` + (inRange < m.patients ? ` (${inRange} with tumour in 80-128)` : ''), String(m.tumourSlices), pair(m.single.dice, mp.nonEmpty.single.dice), pair(m.ensemble.dice, mp.nonEmpty.ensemble.dice),
    pair(m.ensemble.jaccard, mp.nonEmpty.ensemble.jaccard), f1(m.ensemble.hd95_mm), String(mp.empty.ensemble), f3(mp.dice3dRange.ensemble),
    f3(mp.volumeDice3d?.ensemble ?? null), f3(m.varianceAuroc), f1(m.falsePositiveCm2), f3(m.baseline.dice), f3(mp.volumeDice3d?.baseline ?? null)]);
  const widths = head.map((_, i) => Math.max(head[i].length, ...rows.map((x) => x[i].length)));
  const line = (x: string[]) => x.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  const q = mp.pooled;
  return [
    `${r.model.id} ${r.model.version}, ${r.sampler.kind.toUpperCase()} ${r.sampler.steps} steps, ensemble ${n}, seed ${r.seed}, the paper's protocol ` +
      `(tumour slices 80-128)${r.volume ? ' + every slice with brain' : ''}, ${r.provider.toUpperCase()}`,
    `baseline: ${r.baseline}`,
    '',
    line(head),
    ...rows.map(line),
    '',
    `pooled over all ${q.slices} slices, as the paper's Table 1: Dice ${n} ${pair(q.dice.ensemble, q.nonEmptyDice.ensemble)}, ` +
      `Jaccard ${n} ${pair(q.jaccard.ensemble, q.nonEmptyJaccard.ensemble)}, empty ${q.empty.ensemble}; one sample Dice ${pair(q.dice.single, q.nonEmptyDice.single)}, ` +
      `empty ${q.empty.single}; baseline Dice ${f3(q.dice.baseline)}`,
    '',
  ].join('\n');
}

/** The variance map as a guide: raw (as saved) → shown (near the mask), per case and the mean of patients. */
export function formatUncertaintyTable(r: EvaluationReport): string {
  const mu = r.mean.uncertainty;
  if (!mu) return '';
  const pct = (v: number | null) => (v === null ? '-' : `${Math.round(v * 100)} %`);
  const arrow = <T,>(x: { raw: T; nearMask: T }, f: (v: T) => string) => `${f(x.raw)} → ${f(x.nearMask)}`;
  const head = [`case`, `tinted > ${FAR_FROM_TUMOUR_MM} mm from the tumour, cm³`, `tinted within ${FAR_FROM_TUMOUR_MM} mm, cm³`, 'wrong pixels tinted', 'AUROC var'];
  type U = Pick<NonNullable<typeof mu>, 'tintedFarCm3' | 'tintedNearCm3' | 'wrongTinted' | 'auroc'>;
  const row = (name: string, u: U) => [name, arrow(u.tintedFarCm3, (v) => f1(v).trim()), arrow(u.tintedNearCm3, (v) => f1(v).trim()), arrow(u.wrongTinted, pct), arrow(u.auroc, (v) => f3(v).trim())];
  const rows = [head, ...r.cases.map((c) => row(c.case, c.uncertainty!)), row(`mean of ${r.mean.patients}`, mu)];
  const widths = head.map((_, i) => Math.max(...rows.map((x) => x[i].length)));
  const line = (x: string[]) => x.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [
    `the variance map, tinted at ≥ ${mu.threshold}, over the sampled slices: raw (as saved) → shown (within ${mu.nearMaskMm} mm of the mask)`,
    '',
    ...rows.map(line),
    '',
  ].join('\n');
}
