/**
 * `halo bench` (npm run bench): where the time goes, on this machine, as ratios measured in one run.
 * - per-step time at batch 5 and the share of JS-side work in a step;
 * - the slice in view with the default ensemble and steps (the app's first result);
 * - the PyTorch reference sampler on the same ONNX weights and steps, side by side;
 * - peak memory.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { InputError } from '../../errors';
import type { StepTimings } from '../../engine/ensemble';
import { openSegmentation } from '../../engine/segment-study';
import { modelsDir } from '../../model/card';

interface BenchOptions {
  case: string;
  model: string;
  slice: string;
  device: 'auto' | 'cpu' | 'cuda';
  python: boolean;
  json: boolean;
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('benchmark the sampler: per-step time, JS share, slice-in-view time, PyTorch reference ratio, memory')
    .option('--case <dir>', 'BraTS case folder to run on', resolve('..', 'shared', 'data', 'brats', 'BraTS-GLI-00027-000'))
    .option('--model <id>', 'model id', 'wt-4seq')
    .option('--slice <k>', 'the "slice in view"', '75')
    .option('--device <d>', 'auto, cpu or cuda', 'auto')
    .option('--no-python', 'skip the PyTorch reference')
    .option('--json', 'print JSON only')
    .action(async (o: BenchOptions) => bench(o));
}

async function bench(o: BenchOptions): Promise<void> {
  if (!existsSync(o.case)) throw new InputError(`Benchmark case ${o.case} not found; give one with --case DIR.`);
  const k = Number(o.slice);
  const log = (s: string) => !o.json && process.stderr.write(s + '\n');
  let peakRss = process.memoryUsage().rss;
  const sampleMemory = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

  const session = await openSegmentation({ kind: 'case', folder: resolve(o.case) }, { modelId: o.model, device: o.device, cacheDir: null });
  const { engine, model, denoiser } = session;
  const defaults = { ...engine.settings.sampler };
  const ensemble = engine.settings.ensemble;
  const { rows, cols } = engine.study.box;
  log(`halo bench: ${model.card.id} on ${denoiser.device.provider.toUpperCase()}, input ${rows}x${cols}, ` +
    `${defaults.kind.toUpperCase()} ${defaults.steps} steps, ensemble ${ensemble}`);

  // Warm-up (first calls allocate and optimise), on another slice so the measured one starts cold in the cache.
  await engine.run({ slices: [k + 1] });

  // The slice in view at the default settings, exactly as the app runs it.
  const timings: StepTimings = { steps: 0, modelSeconds: 0, jsSeconds: 0 };
  const t0 = performance.now();
  await engine.run({ slices: [k], timings });
  const sliceSeconds = (performance.now() - t0) / 1000;
  const stepSeconds = (timings.modelSeconds + timings.jsSeconds) / timings.steps;
  const jsShare = timings.jsSeconds / (timings.modelSeconds + timings.jsSeconds);
  await session.close();
  clearInterval(sampleMemory);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);

  let python: { seconds_per_step: number; threads: number; torch: string } | null = null;
  if (o.python) {
    const script = join(modelsDir(), 'training', 'bench_ref.py');
    const r = spawnSync('/usr/bin/python3', [script, '--model-dir', join(modelsDir(), o.model), '--batch', String(ensemble),
      '--height', String(rows), '--width', String(cols), '--steps', String(defaults.steps), '--threads', '2'], { encoding: 'utf8' });
    if (r.status === 0) python = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    else log(`PyTorch reference failed (is python3-torch installed?): ${r.stderr.trim().split('\n').at(-1)}`);
  }

  const result = {
    model: model.card.id,
    device: denoiser.device.provider,
    input: [rows, cols],
    sampler: defaults,
    ensemble,
    stepSecondsBatch5: +stepSeconds.toFixed(4),
    jsSharePerStep: +jsShare.toFixed(4),
    sliceInViewSeconds: +sliceSeconds.toFixed(2),
    peakRssMiB: Math.round(peakRss / 2 ** 20),
    pytorchStepSeconds: python ? +python.seconds_per_step.toFixed(4) : null,
    speedupVsPytorch: python ? +(python.seconds_per_step / stepSeconds).toFixed(2) : null,
  };
  if (o.json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  process.stdout.write(
    [
      `per step at batch ${ensemble}:        ${(stepSeconds * 1000).toFixed(1)} ms (JS-side work ${pct(jsShare)})`,
      `slice in view (n=${ensemble}, ${defaults.steps} steps): ${sliceSeconds.toFixed(2)} s`,
      python
        ? `PyTorch reference per step:   ${(python.seconds_per_step * 1000).toFixed(1)} ms (torch ${python.torch}, ${python.threads} threads) → Halo is ${result.speedupVsPytorch}x faster`
        : 'PyTorch reference:            not run',
      `peak memory (RSS):            ${result.peakRssMiB} MiB`,
    ].join('\n') + '\n',
  );
}
