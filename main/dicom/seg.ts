/**
 * Segmentation IOD (PS3.3 A.51): the whole-tumour result as one segment, BINARY (the ensemble's mask) or
 * FRACTIONAL/PROBABILITY (the ensemble mean), one frame per processed FLAIR source slice.
 */
import { sliceSize, voxelCount } from '../volume/volume';
import { type Dataset, tagOf, writePart10 } from './dcmjs';
import {
  checkDerivedInputs,
  coverage,
  checkVoxelArray,
  derivedHeader,
  type DerivedInputs,
  framePlaneAndDerivation,
  pixelMeasures,
  stackOrganization,
  sliceHasData,
} from './derived';
import { CODES, codeItem, fitText, IMPLEMENTATION, shortText, SOP_CLASS } from './iod';
import { BRAIN_EXTRACTION_VERSION } from '../engine/brain-extraction';
import { newUid } from './uid';

export type SegmentationContent =
  /** 1 = tumour, 0 = background, on the source grid. */
  | { type: 'BINARY'; mask: Uint8Array }
  /** Ensemble mean probability in [0, 1] on the source grid; stored as round(p * 255). */
  | { type: 'FRACTIONAL'; probability: Float32Array };

export interface SegmentationInputs extends DerivedInputs {
  content: SegmentationContent;
  /** Leave out frames with no tumour (default false: every processed slice gets a frame). */
  omitEmptyFrames?: boolean;
}

export const MAX_FRACTIONAL_VALUE = 255;

/**
 * Pack 0/1 pixels 8 to a byte, least significant bit first, frames back to back with no padding between them
 * (PS3.5 8.1.1: with Bits Allocated 1 a frame may start in the middle of a byte); only the end of the whole
 * value is padded, to an even length (PS3.5 7.1.1, OB).
 */
export function packBits(bits: Uint8Array): Uint8Array {
  const nBytes = Math.ceil(bits.length / 8);
  const out = new Uint8Array(nBytes + (nBytes % 2));
  for (let i = 0; i < bits.length; i++) if (bits[i]) out[i >> 3] |= 1 << (i & 7);
  return out;
}

/** Inverse of packBits for `count` pixels (used by tests and readers). */
export function unpackBits(bytes: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = (bytes[i >> 3] >> (i & 7)) & 1;
  return out;
}

/** Build the Segmentation instance (Part 10 bytes). Throws on inconsistent inputs. */
export function buildSegmentation(inp: SegmentationInputs): Buffer {
  const what = 'segmentation';
  const c = checkDerivedInputs(inp, what);
  const g = c.geometry;
  const content = inp.content;
  const values = content.type === 'BINARY' ? content.mask : content.probability;
  checkVoxelArray(g, values, content.type === 'BINARY' ? 'mask' : 'probability', what);
  if (content.type === 'BINARY') {
    for (let i = 0; i < values.length; i++) {
      if (values[i] > 1) throw new Error(`${what}: mask value ${values[i]} at voxel ${i} is not 0 or 1`);
    }
  } else {
    for (let i = 0; i < values.length; i++) {
      const p = values[i];
      if (!(p >= 0 && p <= 1)) throw new Error(`${what}: probability ${p} at voxel ${i} is outside [0, 1]`);
    }
  }

  // Frames: the processed slices only (a slice never computed must not read as "no tumour"), and of those only the
  // non-empty ones when asked to leave empty frames out.
  const n = sliceSize(g);
  let frames = c.frames;
  if (inp.omitEmptyFrames) {
    frames = frames.filter((k) => sliceHasData(g, values, k));
    if (frames.length === 0) frames = [c.frames[0]]; // a SEG needs at least one frame: keep one empty one
  }

  const pixels = new Uint8Array(frames.length * n);
  frames.forEach((k, f) => {
    const out = pixels.subarray(f * n, (f + 1) * n);
    for (let p = 0; p < n; p++) {
      const v = values[k * n + p];
      out[p] = content.type === 'BINARY' ? v : Math.round(v * MAX_FRACTIONAL_VALUE);
    }
  });

  const binary = content.type === 'BINARY';
  const ens = `n=${inp.ensembleSize}`;
  const cover = coverage(c);
  const part = cover.short ? `, ${cover.short}` : '';
  const header = derivedHeader(c, {
    sopClassUID: SOP_CLASS.SEGMENTATION,
    modality: 'SEG',
    seriesDescription: binary ? `Halo whole tumour (${ens}${part})` : `Halo whole tumour probability (${ens}${part})`,
    seriesNumber: inp.seriesNumber ?? (binary ? 1000 : 1001),
    imageComments: cover.full,
  });
  const dimensionOrganizationUID = newUid();

  const dataset: Dataset = {
    ...header,
    // Segmentation Image module
    ImageType: ['DERIVED', 'PRIMARY'],
    ContentLabel: binary ? 'WHOLE_TUMOUR' : 'WT_PROBABILITY',
    ContentDescription: fitText(
      (cover.short ? `${cover.short}; ` : '') +
        (binary ? 'whole tumour mask' : 'whole tumour probability') +
        `, diffusion ensemble of ${inp.ensembleSize}`,
      64,
    ),
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    PixelRepresentation: 0,
    BitsAllocated: binary ? 1 : 8,
    BitsStored: binary ? 1 : 8,
    HighBit: binary ? 0 : 7,
    LossyImageCompression: '00',
    SegmentationType: content.type,
    SegmentsOverlap: 'NO',
    ...(binary ? {} : { SegmentationFractionalType: 'PROBABILITY', MaximumFractionalValue: MAX_FRACTIONAL_VALUE }),
    SegmentSequence: [
      {
        SegmentNumber: 1,
        SegmentLabel: 'Whole tumour',
        SegmentDescription: 'Whole tumour (necrotic core, enhancing tumour and oedema)',
        SegmentedPropertyCategoryCodeSequence: [codeItem(CODES.morphologicallyAbnormalStructure)],
        SegmentedPropertyTypeCodeSequence: [codeItem(CODES.neoplasm)],
        AnatomicRegionSequence: [codeItem(CODES.brain)],
        SegmentAlgorithmType: 'AUTOMATIC',
        SegmentAlgorithmName: shortText(`${inp.model.id} ${inp.model.version}`, 64),
        SegmentationAlgorithmIdentificationSequence: [
          {
            AlgorithmFamilyCodeSequence: [codeItem(CODES.artificialIntelligence)],
            AlgorithmName: shortText(inp.model.id, 64),
            AlgorithmVersion: shortText(inp.model.version, 64),
            AlgorithmParameters: shortText(
              `diffusion ensemble of ${inp.ensembleSize}${inp.brainExtracted ? `, brain extracted automatically (v${BRAIN_EXTRACTION_VERSION})` : ''}`,
              64,
            ),
          },
        ],
      },
    ],
    // Image Pixel
    Rows: g.dims[1],
    Columns: g.dims[0],
    // Multi-frame Functional Groups
    NumberOfFrames: frames.length,
    SharedFunctionalGroupsSequence: [{ PixelMeasuresSequence: [pixelMeasures(c, frames)] }],
    PerFrameFunctionalGroupsSequence: frames.map((k, f) => ({
      ...framePlaneAndDerivation(c, k, CODES.segmentation),
      // Position index counts the frames' distinct positions (1-based, in slice order).
      FrameContentSequence: [{ DimensionIndexValues: [1, f + 1] }],
      SegmentIdentificationSequence: [{ ReferencedSegmentNumber: 1 }],
    })),
    // Multi-frame Dimension: segment, then position along the stack
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUID }],
    ...stackOrganization(frames),
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: dimensionOrganizationUID,
        DimensionIndexPointer: tagOf('ReferencedSegmentNumber'),
        FunctionalGroupPointer: tagOf('SegmentIdentificationSequence'),
        DimensionDescriptionLabel: 'Segment Number',
      },
      {
        DimensionOrganizationUID: dimensionOrganizationUID,
        DimensionIndexPointer: tagOf('ImagePositionPatient'),
        FunctionalGroupPointer: tagOf('PlanePositionSequence'),
        DimensionDescriptionLabel: 'Image Position Patient',
      },
    ],
    PixelData: [(binary ? packBits(pixels) : evenLength(pixels)).buffer],
    _vrMap: { ...(header._vrMap as Record<string, string> | undefined), PixelData: 'OB' },
  };
  if (voxelCount(g) === 0) throw new Error(`${what}: empty grid`);
  return writePart10(dataset, IMPLEMENTATION);
}

/** OB values have even length (PS3.5 7.1.1): pad one zero byte when needed. */
function evenLength(bytes: Uint8Array): Uint8Array {
  if (bytes.length % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}
