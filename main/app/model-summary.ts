/**
 * What the UI shows of a model card: inputs, defaults, and the validation summary a radiologist needs before
 * trusting a result (how many patients and slices, Dice, the baseline it must beat, the card's own verdict).
 * The validation block is documentation in the card (it passes through the engine's schema), so it is read
 * leniently here: a card without one is shown as "not validated".
 */
import { z } from 'zod';
import type { ModelCard } from '../model/card';
import type { ModelSummary, ModelValidation } from './contract';

/** The card's validation as `halo evaluate` writes it (per patient, and the mean over patients). */
const Evaluation = z.object({
  ensemble: z.number().int().positive(),
  baseline: z.string(),
  cases: z.array(z.unknown()),
  mean: z.object({
    tumourSlices: z.number(),
    single: z.object({ dice: z.number().nullable() }),
    ensemble: z.object({ dice: z.number().nullable() }),
    varianceAuroc: z.number().nullable(),
    falsePositiveCm2: z.number().nullable().optional(),
    baseline: z.object({ dice: z.number().nullable() }),
  }),
});
const Training = z.object({ data: z.array(z.unknown()), validation: z.array(z.unknown()) });

export function modelSummary(card: ModelCard): ModelSummary {
  const fields = card as Record<string, unknown>;
  const t = Training.safeParse(fields.training);
  const trainingPatients = t.success ? t.data.data.length : null;
  const verdict = typeof fields.summary === 'string' ? fields.summary : '';
  return {
    id: card.id,
    version: card.version,
    description: card.description,
    inputs: card.inputs,
    defaults: {
      sampler: card.defaults.sampler,
      steps: card.defaults.steps,
      ensemble: card.defaults.ensemble,
      ensembleBrainExtracted: card.defaults.ensembleBrainExtracted ?? null,
    },
    validation: fromEvaluation(fields.validation, trainingPatients, verdict),
    validationSkullOn: fromEvaluation(fields.validationSkullOn, trainingPatients, verdict),
  };
}

/** A `halo evaluate` report as the UI shows it (null when the card holds none). */
function fromEvaluation(raw: unknown, trainingPatients: number | null, verdict: string): ModelValidation | null {
  const e = Evaluation.safeParse(raw);
  if (!e.success) return null;
  const m = e.data.mean;
  return {
    ensemble: e.data.ensemble,
    trainingPatients,
    validationPatients: e.data.cases.length,
    validationSlices: m.tumourSlices,
    diceSingle: m.single.dice ?? 0,
    diceEnsemble: m.ensemble.dice ?? 0,
    baselineDice: m.baseline.dice,
    baselineMethod: e.data.baseline,
    auroc: m.varianceAuroc,
    falsePositiveCm2: m.falsePositiveCm2 ?? null,
    verdict,
  };
}
