/**
 * The measurements of `halo bench`, all in one run on this machine so that their ratios mean something:
 * - start-up: `halo --help`, as a user starts it (a fresh process);
 * - per-step time at batch = ensemble size, and the share of JS-side work in a step (in-process, after warm-up);
 * - the slice in view: one cold `halo segment` process on one slice, split into the fixed overhead before the
 *   first sampling step, sampling and writing, with that process's peak RSS;
 * - the whole volume: one cold `halo segment` process over every slice, at the default settings;
 * - the PyTorch reference sampler on the same ONNX weights, at the model's real input size and Halo's threads.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InputError } from '../../errors';
import type { StepTimings } from '../../engine/ensemble';
import { openSegmentation } from '../../engine/segment-study';
import { modelsDir } from '../../model/card';
import { PROVIDER_LABEL } from '../../model/device';
import type { BenchOptions } from './bench-options';

interface CliRun {
  wallSeconds: number;
  summary: {
    seconds: number;
    timings: { commandStart: number; studyAndModelOpen: number; firstStep: number; samplingDone: number };
    peakRssMiB: number;
    etaCheck?: { atFraction: number; predictedSeconds: number; actualSeconds: number }[];
    slices: { processed: number[]; screening?: { skipped: number[] } };
  };
}

export async function bench(o: BenchOptions): Promise<void> {
  if (!existsSync(o.case)) throw new InputError(`Benchmark case ${o.case} not found; give one with --case DIR.`);
  const k = Number(o.slice);
  const log = (s: string) => !o.json && process.stderr.write(s + '\n');
  // bin/halo.mjs runs the TypeScript sources when out/cli is older than them; the processes bench starts do too.
  const cli = process.env.HALO_CLI ?? 'sources';
  if (cli !== 'compiled') {
    process.stderr.write('halo bench: warning: the compiled CLI is missing or older than the sources, so the CLI runs measured here go through tsx ' +
      '(start-up and overhead slower than a build): run `npm run bench`, which builds first.\n');
  }
  const halo = resolve(modelsDir(), '..', 'bin', 'halo.mjs');
  const common = ['--case', resolve(o.case), '--model', o.model, '--device', o.device, '--no-cache', '--no-progress',
    ...(o.threads ? ['--threads', o.threads] : [])];

  // 1. Start-up, median of 3 fresh processes.
  const helpSeconds = median([0, 1, 2].map(() => {
    const t = performance.now();
    spawnSync(process.execPath, [halo, '--help'], { stdio: 'ignore' });
    return (performance.now() - t) / 1000;
  }));

  // 2. Per-step time and the JS share, in this process after a warm-up slice.
  const session = await openSegmentation(
    { kind: 'case', folder: resolve(o.case) },
    { modelId: o.model, device: o.device, cacheDir: null, threads: o.threads ? Number(o.threads) : undefined },
  );
  const { engine, model, denoiser } = session;
  const defaults = { ...engine.settings.sampler };
  const ensemble = engine.settings.ensemble;
  // The slice in view's model input (its own box when the card crops per slice); the step and the reference use it.
  const { rows, cols } = engine.study.boxFor(k);
  const volumeBox = engine.study.box;
  const inputs = `model input ${rows}x${cols}${rows * cols !== volumeBox.rows * volumeBox.cols ? ` (slice ${k}; each slice its own box, at most ${volumeBox.rows}x${volumeBox.cols})` : ''}`;
  const device = denoiser.device;
  const threads = device.threads ?? null;
  log(`halo bench: ${model.card.id} on ${PROVIDER_LABEL[device.provider]}${threads ? ` (${threads} threads)` : ''} ` +
    `(${device.reason}); ${inputs}, ${defaults.kind.toUpperCase()} ${defaults.steps} steps, ensemble ${ensemble}`);
  let timings: StepTimings;
  try {
    await engine.run({ slices: [k + 1] });
    timings = { steps: 0, modelSeconds: 0, jsSeconds: 0 };
    await engine.run({ slices: [k], timings });
  } finally {
    await session.close();
  }
  const stepSeconds = (timings.modelSeconds + timings.jsSeconds) / timings.steps;
  const jsShare = timings.jsSeconds / (timings.modelSeconds + timings.jsSeconds);

  // 3. The slice in view from a cold CLI process; 4. the whole volume.
  log('halo bench: slice in view (a fresh `halo segment` process) ...');
  const slice = await runCli(halo, [...common, '--slices', `${k}:${k + 1}`]);
  let volume: CliRun | null = null;
  if (o.volume) {
    log('halo bench: whole volume (a fresh `halo segment` process over every slice; minutes on a CPU) ...');
    volume = await runCli(halo, common);
  }

  // 5. PyTorch reference at the model's real input size, Halo's batch and threads.
  let python: { seconds_per_step: number; threads: number; torch: string } | null = null;
  if (o.python) {
    const script = join(modelsDir(), 'training', 'bench_ref.py');
    // Debian's python3 (with python3-torch) by default; HALO_PYTHON names another (e.g. on a GPU machine's image).
    const r = spawnSync(process.env.HALO_PYTHON ?? '/usr/bin/python3', [script, '--model-dir', join(modelsDir(), o.model), '--batch', String(ensemble),
      '--height', String(rows), '--width', String(cols), '--steps', '10', '--threads', String(threads ?? 0)], { encoding: 'utf8' });
    if (r.status === 0) python = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    else log(`PyTorch reference failed (is python3-torch installed?): ${(r.stderr ?? '').trim().split('\n').at(-1)}`);
  }

  const s = slice.summary;
  const result = {
    model: model.card.id,
    device: device.provider,
    deviceReason: device.reason,
    threads,
    modelInput: [rows, cols],
    volumeBox: [volumeBox.rows, volumeBox.cols],
    sampler: defaults,
    ensemble,
    cli,
    helpSeconds: round(helpSeconds, 3),
    stepSeconds: round(stepSeconds, 4),
    jsSharePerStep: round(jsShare, 4),
    sliceInView: {
      wallSeconds: round(slice.wallSeconds, 2),
      fixedOverheadSeconds: round(s.timings.firstStep, 2),
      samplingSeconds: round(s.seconds, 2),
      writingSeconds: round(slice.wallSeconds - s.timings.samplingDone, 2),
      peakRssMiB: s.peakRssMiB,
    },
    wholeVolume: volume && {
      wallSeconds: round(volume.wallSeconds, 1),
      slicesSampled: volume.summary.slices.processed.length,
      slicesScreenedOut: volume.summary.slices.screening?.skipped.length ?? 0,
      peakRssMiB: volume.summary.peakRssMiB,
      /** The progress ETA (the viewer's too) at 10 % and 50 % of the sampling, against the time it really took. */
      etaCheck: volume.summary.etaCheck ?? [],
    },
    pytorch: python && { stepSeconds: round(python.seconds_per_step, 4), threads: python.threads, torch: python.torch, speedup: round(python.seconds_per_step / stepSeconds, 2) },
  };
  if (o.json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  const ms = (x: number) => `${(1000 * x).toFixed(1)} ms`;
  const v = result.wholeVolume;
  process.stdout.write(
    [
      `device                         ${PROVIDER_LABEL[device.provider]}${threads ? `, ${threads} intra-op threads` : ''}; ${inputs}`,
      `halo --help                    ${helpSeconds.toFixed(2)} s (${cli === 'compiled' ? 'compiled CLI' : 'from the TypeScript sources, not a build'})`,
      `per step at batch ${ensemble}            ${ms(stepSeconds)} (JS-side work ${(100 * jsShare).toFixed(1)} %)`,
      `slice in view, cold CLI        ${result.sliceInView.wallSeconds} s = fixed overhead ${result.sliceInView.fixedOverheadSeconds} s ` +
        `+ sampling ${result.sliceInView.samplingSeconds} s + writing/exit ${result.sliceInView.writingSeconds} s; peak RSS ${s.peakRssMiB} MiB`,
      v ? `whole volume, cold CLI         ${v.wallSeconds} s (${v.slicesSampled} slices sampled, ${v.slicesScreenedOut} screened out); peak RSS ${v.peakRssMiB} MiB`
        : 'whole volume                   not run (--no-volume)',
      ...(v?.etaCheck ?? []).map(
        (e) =>
          `ETA at ${Math.round(100 * e.atFraction)} %`.padEnd(31) +
          `${e.predictedSeconds} s predicted, ${e.actualSeconds} s taken (${e.actualSeconds ? Math.round((100 * (e.predictedSeconds - e.actualSeconds)) / e.actualSeconds) : 0} %)`,
      ),
      result.pytorch
        ? `PyTorch reference per step     ${ms(result.pytorch.stepSeconds)} (torch ${result.pytorch.torch}, ${result.pytorch.threads} threads, ` +
          `batch ${ensemble} at ${rows}x${cols}) → Halo is ${result.pytorch.speedup}x faster per step`
        : 'PyTorch reference              not run',
    ].join('\n') + '\n',
  );
}

/** One `halo segment` in a fresh process, timed from outside; its summary.json says where the time went. */
async function runCli(halo: string, args: string[]): Promise<CliRun> {
  const out = mkdtempSync(join(tmpdir(), 'halo-bench-'));
  try {
    const t = performance.now();
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((done, fail) => {
      const child = spawn(process.execPath, [halo, 'segment', ...args, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('error', fail);
      child.on('close', (c) => done({ code: c, stderr: err }));
    });
    const wallSeconds = (performance.now() - t) / 1000;
    if (code !== 0) throw new Error(`halo segment ${args.join(' ')} failed (exit ${code}): ${stderr.trim().split('\n').at(-1)}`);
    return { wallSeconds, summary: JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, digits: number) => +x.toFixed(digits);
