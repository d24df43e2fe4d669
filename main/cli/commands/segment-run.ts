/**
 * The work of `halo segment` (options parsed in segment.ts): open the study and model, sample, write the outputs.
 */
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { SliceResult } from '../../engine/ensemble';
import { assembleVolumes, ensureWritableFolder, summariseSlice, writeVolumeOutputs } from '../../engine/outputs';
import { BRAIN_EXTRACTED_NOTE, openSegmentation, parseSliceRange, runnableSlices } from '../../engine/segment-study';
import { cliRange, missingSlices } from '../../volume/gaps';
import { planFromScreening, SCREENING, type ScreeningPlan } from '../../engine/screening';
import { ALL_OUTPUT_FILES } from '../../engine/output-names';
import { writeOutputSet } from '../../io/output-set';
import { PROVIDER_LABEL } from '../../model/device';
import type { StudyInput } from '../../study/load-study';
import { int, type SegmentOptions } from './segment-options';
import pkg from '../../../package.json' with { type: 'json' };

/** For a caller other than the command line (the queue worker): its own cancel signal and a progress callback. */
export interface SegmentHooks {
  /** Cancels the run (within one sampling step); without it, Ctrl-C does. */
  signal?: AbortSignal;
  /** Fraction of the sampling done, 0-1. */
  onProgress?: (fraction: number) => void;
}

export async function segment(o: SegmentOptions, input: StudyInput, hooks: SegmentHooks = {}): Promise<{ out: string; files: string[] }> {
  const started = performance.now();
  const out = resolve(o.out);
  await ensureWritableFolder(out);
  const session = await openSegmentation(input, {
    modelId: o.model,
    device: o.device,
    sampler: { kind: o.sampler, steps: int('--steps', o.steps), eta: o.eta === undefined ? undefined : Number(o.eta) },
    ensemble: int('--ensemble', o.ensemble),
    seed: int('--seed', o.seed),
    cacheDir: o.cache === false ? null : resolve(o.cache),
    threads: int('--threads', o.threads),
  });
  const opened = performance.now();
  const { engine, study, model, denoiser } = session;
  const grid = study.reference.geometry;
  const nz = grid.dims[2];
  // First what the user must know of the inputs (guessed roles, skipped files, missing slices), then any refusal.
  const guessed = new Set(session.warnings);
  for (const n of study.roleNotes.notes) if (!guessed.has(n)) process.stderr.write(`halo: ${n}\n`);
  for (const w of session.warnings) process.stderr.write(`halo: warning: ${w}\n`);
  let a: number, b: number, withBrain: number[];
  try {
    [a, b] = parseSliceRange(o.slices, nz);
    withBrain = runnableSlices(study, engine.study.hasBrain, a, b, o.slices === undefined ? undefined : cliRange);
  } catch (err) {
    await session.close();
    throw err;
  }
  const requested = Array.from({ length: b - a }, (_, i) => a + i);
  const missing = missingSlices(study.gaps);
  const { sampler, ensemble, seed } = engine.settings;

  const device = denoiser.device;
  process.stderr.write(
    `halo: ${model.card.id} ${model.card.version} on ${PROVIDER_LABEL[device.provider]}` +
      (device.threads ? ` (${device.threads} threads)` : '') +
      `; ${sampler.kind.toUpperCase()} ${sampler.steps} steps, ensemble ${ensemble}, seed ${seed}; ` +
      `${withBrain.length} of ${requested.length} slices have brain` +
      (missing.length ? ` and an image in every sequence (${missing.filter((k) => k >= a && k < b).length} missing)` : '') + '\n' +
      `halo: device: ${device.reason}\n`,
  );

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  if (hooks.signal) hooks.signal.addEventListener('abort', onSignal, { once: true });
  else process.once('SIGINT', onSignal);
  const bar = o.progress && process.stderr.isTTY
    ? new cliProgress.SingleBar({ format: 'sampling |{bar}| {percentage}% | slices {done}/{total} | ETA {eta_s}', etaBuffer: 50 }, cliProgress.Presets.shades_classic)
    : null;
  const t0 = performance.now();
  let results: SliceResult[];
  let screening: (ScreeningPlan & { seconds: number }) | null = null;
  const etaSeen: { fraction: number; predicted: number; at: number }[] = [];
  try {
    let toSample = withBrain;
    if (o.screen && withBrain.length >= SCREENING.minSlices) {
      const found = await engine.screen({ slices: withBrain, signal: controller.signal });
      screening = { ...planFromScreening(found), seconds: +((performance.now() - t0) / 1000).toFixed(2) };
      toSample = screening.sampled;
      process.stderr.write(
        `halo: screening (member 1 of ${ensemble} of every slice, ${screening.seconds} s): tumour in ${screening.positive.length} of ` +
          `${withBrain.length} slices; full ensemble on ${toSample.length} (with their neighbours); ${screening.skipped.length} skipped ` +
          `(0 in every output, listed in summary.json; --no-screen samples them all)\n`,
      );
    }
    bar?.start(100, 0, { done: 0, total: toSample.length, eta_s: '?' });
    // How good the ETA is (the viewer shows the same estimate): what it said at 10 % and 50 %, against what it took.
    const marks = [0.1, 0.5];
    results = await engine.run({
      slices: toSample,
      signal: controller.signal,
      maxBatch: int('--batch', o.batch),
      onProgress: (p) => {
        hooks.onProgress?.(p.fraction);
        if (marks.length && p.fraction >= marks[0] && p.etaSeconds !== null) etaSeen.push({ fraction: marks.shift()!, predicted: p.etaSeconds, at: performance.now() });
        bar?.update(Math.round(p.fraction * 100), { done: p.slicesDone, total: p.slicesTotal, eta_s: p.etaSeconds === null ? '?' : `${Math.round(p.etaSeconds)}s` });
        if (!bar && p.slice) process.stderr.write(`halo: slice ${p.slice.k} done (${p.slicesDone}/${p.slicesTotal})${p.slice.fromCache ? ' from cache' : ''}\n`);
      },
    });
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
    hooks.signal?.removeEventListener('abort', onSignal);
    await session.close();
  }
  results.sort((x, y) => x.k - y.k);
  const sampled = performance.now();
  const seconds = (sampled - t0) / 1000;
  const secs = (ms: number) => +(ms / 1000).toFixed(3);

  const summary = {
    halo: pkg.version,
    input: { kind: input.kind, label: study.label, grid: { dims: grid.dims, spacing: grid.spacing } },
    model: { id: model.card.id, version: model.card.version, inputs: model.card.inputs },
    sampler: sampler.kind,
    steps: sampler.steps,
    eta: sampler.kind === 'ddim' ? sampler.eta : undefined,
    ensemble,
    seed,
    device,
    warnings: session.warnings,
    series: study.roleNotes.notes,
    brain: session.brainExtracted ? BRAIN_EXTRACTED_NOTE : 'the non-zero voxels of the inputs (a skull-stripped study)',
    seconds: +seconds.toFixed(2),
    // Seconds since the process started (node, module loading, reading, preprocessing, the ONNX session).
    timings: { commandStart: secs(started), studyAndModelOpen: secs(opened), firstStep: secs(t0), samplingDone: secs(sampled) },
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    etaCheck: etaSeen.map((e) => ({ atFraction: e.fraction, predictedSeconds: +e.predicted.toFixed(1), actualSeconds: +((sampled - e.at) / 1000).toFixed(1) })),
    slices: {
      requested: [a, b],
      processed: results.map((r) => r.k),
      skippedNoBrain: requested.filter((k) => !engine.study.hasBrain[k] && !missing.includes(k)),
      // Slices some sequence has no image for (missing or unreadable files): never segmented, in no output.
      missing: missing.filter((k) => k >= a && k < b),
      screening: screening && {
        member: 0,
        rule: `every slice's member 0 first; a slice gets the other members when member 0 has ≥ ${SCREENING.minPixels} tumour pixel(s) (model grid) or a slice within ${SCREENING.neighbours} has`,
        seconds: screening.seconds,
        positive: screening.positive,
        skipped: screening.skipped,
      },
      notRequested: nz - requested.length,
      note: 'Slices that were not processed (missing, no brain, not requested, or skipped by the screening) are 0 in every output.',
    },
    perSlice: results.map((r) => summariseSlice(r, grid, engine.study.brainFor(r.k))),
  };
  const template = study.reference.source.kind === 'nifti' ? study.reference.source.header : undefined;
  const volumes = assembleVolumes(grid, results, ensemble, { samples: o.samples });
  // Build the DICOM objects first: if they cannot be made, nothing is written.
  const dicomOutputs = input.kind === 'dicom' ? await import('../../engine/dicom-outputs') : null; // dcmjs: DICOM input only
  const dicom = dicomOutputs?.buildDicomOutputs(study, model.card, volumes, results.map((r) => r.k), {
    omitEmptyFrames: o.omitEmptyFrames,
    brainExtracted: session.brainExtracted,
  });
  // The whole set replaces an earlier run's as one: a full disk leaves the folder as it was, never a mix of runs.
  const written = await writeOutputSet(out, ALL_OUTPUT_FILES, async (staging) => {
    const files = await writeVolumeOutputs(staging, grid, template, volumes, summary);
    if (dicomOutputs && dicom) files.push(...(await dicomOutputs.writeDicomOutputs(staging, dicom)));
    return files;
  });
  const end = performance.now();
  process.stdout.write(
    `halo: wrote ${written.join(', ')} to ${out} (${results.length} slices; ${((end - started) / 1000).toFixed(1)} s: ` +
      `open ${((opened - started) / 1000).toFixed(2)} s, sampling ${seconds.toFixed(2)} s, writing ${((end - sampled) / 1000).toFixed(2)} s)\n`,
  );
  return { out, files: written };
}
