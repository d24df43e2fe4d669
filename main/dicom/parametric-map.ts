/**
 * Parametric Map IOD (PS3.3 A.75): the per-voxel variance of the ensemble's tumour probabilities, as 32-bit
 * floats on the FLAIR grid. Only processed slices get a frame: an unprocessed slice has no variance (not a
 * variance of 0), so it is left out rather than written as zeros (as in both SEGs); ContentDescription says how
 * many, ImageComments which.
 */
import { sliceSize } from '../volume/volume';
import { type Dataset, tagOf, writePart10 } from './dcmjs';
import { checkDerivedInputs, checkVoxelArray, coverage, derivedHeader, type DerivedInputs, framePlaneAndDerivation, pixelMeasures, stackOrganization } from './derived';
import { CODES, codeItem, ds, fitText, HALO_CODING_SCHEME, IMPLEMENTATION, SOP_CLASS } from './iod';
import { str } from './values';
import { newUid } from './uid';

export interface ParametricMapInputs extends DerivedInputs {
  /** Per-voxel variance of the ensemble members' probabilities, on the source grid. */
  variance: Float32Array;
}

/** Private code for how the map was derived (no standard code names an ensemble variance). */
const ENSEMBLE_VARIANCE_DERIVATION = { value: 'ENS_VARIANCE', scheme: '99HALO', meaning: 'Ensemble variance' };

/** Build the Parametric Map instance (Part 10 bytes). Throws on inconsistent inputs. */
export function buildParametricMap(inp: ParametricMapInputs): Buffer {
  const what = 'parametric map';
  const c = checkDerivedInputs(inp, what);
  const g = c.geometry;
  checkVoxelArray(g, inp.variance, 'variance', what);
  const frames = c.frames;

  const n = sliceSize(g);
  const pixels = new Float32Array(frames.length * n);
  let min = Infinity;
  let max = -Infinity;
  frames.forEach((k, f) => {
    const src = inp.variance.subarray(k * n, (k + 1) * n);
    for (let p = 0; p < n; p++) {
      const v = src[p];
      if (!(Number.isFinite(v) && v >= 0)) throw new Error(`${what}: variance ${v} at slice ${k}, pixel ${p} is not a finite value >= 0`);
      if (v < min) min = v;
      if (v > max) max = v;
    }
    pixels.set(src, f * n);
  });

  const cover = coverage(c);
  const lo = Number.isFinite(min) ? min : 0;
  const hi = Number.isFinite(max) ? max : 0;
  const header = derivedHeader(c, {
    sopClassUID: SOP_CLASS.PARAMETRIC_MAP,
    // The modality of the images the map was computed from (the FLAIR), not OT: viewers file and hang it with them.
    modality: str(c.src.firstDataset, 'Modality') || 'MR',
    seriesDescription: `Halo ensemble variance (n=${inp.ensembleSize}${cover.short ? `, ${cover.short}` : ''})`,
    seriesNumber: inp.seriesNumber ?? 1002,
    imageComments: cover.full,
  });
  const dimensionOrganizationUID = newUid();
  const dataset: Dataset = {
    ...header,
    // Parametric Map Image module
    // Values 3-4: image flavour (a volume) and derived pixel contrast (a computed quantity).
    ImageType: ['DERIVED', 'PRIMARY', 'VOLUME', 'QUANTITY'],
    ContentLabel: 'VARIANCE',
    // Research software output, not a cleared clinical product.
    ContentQualification: 'RESEARCH',
    RecognizableVisualFeatures: 'NO',
    ContentDescription: fitText(
      (cover.short ? `${cover.short}; ` : '') + `variance of tumour probability, ensemble of ${inp.ensembleSize}`,
      64,
    ),
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    BitsAllocated: 32,
    PresentationLUTShape: 'IDENTITY',
    LossyImageCompression: '00',
    BurnedInAnnotation: 'NO',
    AcquisitionContextSequence: [],
    Rows: g.dims[1],
    Columns: g.dims[0],
    NumberOfFrames: frames.length,
    SharedFunctionalGroupsSequence: [
      {
        PixelMeasuresSequence: [pixelMeasures(c, frames)],
        // Float pixels are the real values: the identity transform says so explicitly.
        PixelValueTransformationSequence: [{ RescaleIntercept: '0', RescaleSlope: '1', RescaleType: 'US' }],
        // A first display window over the values present; LINEAR_EXACT since the width is below 1 (variance <= 0.25).
        FrameVOILUTSequence: [{ WindowCenter: ds((lo + hi) / 2), WindowWidth: ds(Math.max(hi - lo, 1e-6)), VOILUTFunction: 'LINEAR_EXACT' }],
        FrameAnatomySequence: [{ AnatomicRegionSequence: [codeItem(CODES.brain)], FrameLaterality: 'U' }],
        ParametricMapFrameTypeSequence: [{ FrameType: ['DERIVED', 'PRIMARY', 'VOLUME', 'QUANTITY'] }],
        RealWorldValueMappingSequence: [
          {
            DoubleFloatRealWorldValueFirstValueMapped: Number.isFinite(min) ? min : 0,
            DoubleFloatRealWorldValueLastValueMapped: Number.isFinite(max) ? max : 0,
            RealWorldValueIntercept: 0,
            RealWorldValueSlope: 1,
            LUTExplanation: 'Variance of the ensemble members\' tumour probabilities',
            LUTLabel: 'VARIANCE',
            // A variance of a probability is dimensionless: UCUM unit "1".
            MeasurementUnitsCodeSequence: [codeItem(CODES.noUnits)],
            QuantityDefinitionSequence: [
              {
                ValueType: 'CODE',
                ConceptNameCodeSequence: [codeItem(CODES.quantity)],
                ConceptCodeSequence: [codeItem(CODES.variance)],
              },
            ],
          },
        ],
      },
    ],
    PerFrameFunctionalGroupsSequence: frames.map((k, f) => ({
      ...framePlaneAndDerivation(c, k, ENSEMBLE_VARIANCE_DERIVATION),
      FrameContentSequence: [{ DimensionIndexValues: [f + 1] }],
    })),
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUID }],
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: dimensionOrganizationUID,
        DimensionIndexPointer: tagOf('ImagePositionPatient'),
        FunctionalGroupPointer: tagOf('PlanePositionSequence'),
        DimensionDescriptionLabel: 'Image Position Patient',
      },
    ],
    ...stackOrganization(frames),
    CodingSchemeIdentificationSequence: [HALO_CODING_SCHEME], // for the 99HALO derivation code
    FloatPixelData: [pixels.buffer],
  };
  return writePart10(dataset, IMPLEMENTATION);
}
