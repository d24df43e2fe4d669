/**
 * Model cards: models/<id>/card.json beside models/<id>/model.onnx. The card is the contract between training
 * (models/training) and the engine: input sequences and their order, preprocessing, mask encoding, diffusion
 * schedule and default sampler. Everything the engine relies on is validated here; the rest (training data,
 * validation results, speed) is documentation and passes through.
 */
import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { InputError } from '../errors';

const Role = z.enum(['T1', 'T1ce', 'T2', 'FLAIR']);

export const ModelCardSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    version: z.string(),
    description: z.string(),
    inputs: z.array(Role).min(1),
    onnx: z.object({ file: z.string(), input: z.string(), timestep: z.string(), output: z.string() }),
    preprocessing: z.object({
      brainMask: z.literal('nonzero-in-any-input'),
      clipPercentiles: z.tuple([z.number(), z.number()]),
      pixelSpacingMm: z.number().positive(),
      cropMultiple: z.number().int().positive(),
      /** The crop box: the brain's over the whole volume, or each slice's own (see preprocess.ts). */
      cropPer: z.enum(['volume', 'slice']).default('volume'),
      /**
       * 2.5D input: after the slice's own sequences, those of the slices this far below and above it (mm along the
       * slice normal; interpolated where no slice lies exactly there, 0 beyond the volume). Absent: the slice alone.
       */
      neighboursMm: z.number().positive().optional(),
    }),
    maskEncoding: z.object({ x0FromMask: z.literal('2*m-1'), threshold: z.number() }),
    schedule: z.object({ kind: z.literal('linear'), T: z.number().int().positive(), learnedSigma: z.literal(true) }),
    defaults: z.object({
      sampler: z.enum(['ddpm', 'ddim']),
      steps: z.number().int().positive(),
      eta: z.number().min(0).max(1),
      ensemble: z.number().int().positive(),
      /**
       * The ensemble size on a study whose brain Halo extracted (one with the skull), where the model's validation
       * showed scattered false positives at `ensemble` that more members average away; absent: `ensemble`.
       */
      ensembleBrainExtracted: z.number().int().min(1).max(100).optional(),
    }),
  })
  .passthrough();

export type ModelCard = z.infer<typeof ModelCardSchema>;

/** The model's conditioning channels (its input less the noisy mask): the card's inputs, three times with 2.5D input. */
export function conditionChannels(card: ModelCard): number {
  return card.inputs.length * (card.preprocessing.neighboursMm ? 3 : 1);
}

export interface ModelEntry {
  card: ModelCard;
  dir: string;
  onnxPath: string;
}

/** models/ of the project (or of the packaged app, via HALO_MODELS_DIR). */
export function modelsDir(): string {
  if (process.env.HALO_MODELS_DIR) return resolve(process.env.HALO_MODELS_DIR);
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'models');
}

export async function listModels(root = modelsDir()): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && existsSync(join(root, e.name, 'card.json'))).map((e) => e.name).sort();
}

export async function loadModel(id: string, root = modelsDir()): Promise<ModelEntry> {
  const known = await listModels(root);
  if (!known.includes(id)) {
    throw new InputError(`Unknown model "${id}". Models in ${root}: ${known.join(', ') || 'none'}.`);
  }
  const dir = join(root, id);
  let card: ModelCard;
  try {
    card = ModelCardSchema.parse(JSON.parse(await readFile(join(dir, 'card.json'), 'utf8')));
  } catch (err) {
    throw new InputError(`The model card ${join(dir, 'card.json')} is invalid: ${(err as Error).message}`);
  }
  const onnxPath = join(dir, card.onnx.file);
  if (!existsSync(onnxPath)) throw new InputError(`Model "${id}" has no ${card.onnx.file} in ${dir}.`);
  return { card, dir, onnxPath };
}
