import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { importNiftiCase } from '../../main/dicom/import-nifti';
import { readDicomFolder, seriesToVolume } from '../../main/dicom/read-study';
import { parsePart10 } from '../../main/dicom/dcmjs';
import { buildSegmentation, MAX_FRACTIONAL_VALUE, packBits, unpackBits } from '../../main/dicom/seg';
import { buildParametricMap } from '../../main/dicom/parametric-map';
import { sliceRanges } from '../../main/dicom/derived';
import { fitText } from '../../main/dicom/iod';
import { markEdited } from '../../main/app/seg-edits';
import { items, num } from '../../main/dicom/values';
import { sliceSize, voxelToWorld, type Volume } from '../../main/volume/volume';
import { DATA, dciodvfy, readWithPydicom, tempDir } from '../support/dicom-tools';

const out = tempDir('seg');

/** Index of the first difference, -1 when equal (vitest's deep equality is far too slow for 65k-element arrays). */
function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/**
 * Errors that belong to the source data, not to our objects: the GE test series (pd-ax-oblique) has UIDs with
 * the illegal root "0.0.0.0", which our references must repeat verbatim.
 */
const sourceUidError = (e: string) => /Illegal root for UID - "0\.0\.0\.0\./.test(e);

/** A deterministic "segmentation": a threshold of the real image at its 70th percentile. */
function thresholdMask(v: Volume): Uint8Array {
  const sorted = Float32Array.from(v.data).sort();
  const t = sorted[Math.floor(sorted.length * 0.7)];
  return Uint8Array.from(v.data, (x) => (x > t ? 1 : 0));
}

/** The odd-matrix case: the first 61 x 57 pixels of a real series (same origin and directions). */
function crop(v: Volume, nx: number, ny: number): Volume {
  const [ox, oy, nz] = v.geometry.dims;
  const data = new Float32Array(nx * ny * nz);
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) data[i + nx * (j + ny * k)] = v.data[i + ox * (j + oy * k)];
  return { ...v, data, geometry: { ...v.geometry, dims: [nx, ny, nz] } };
}

const sources: Record<string, Volume> = {};

beforeAll(async () => {
  const axialDir = path.join(out, 'axial');
  await importNiftiCase(path.join(DATA, 'brats', 'BraTS-GLI-00027-000'), axialDir, { slices: { from: 60, to: 67 } });
  const axial = (await readDicomFolder(path.join(axialDir, '1-FLAIR')))[0];
  sources.axial = seriesToVolume(axial);
  for (const name of ['t1-sag-hfs', 't1-sag-hfp', 'pd-ax-oblique']) {
    sources[name] = seriesToVolume((await readDicomFolder(path.join(DATA, 'dicom', name)))[0]);
  }
  sources['odd-61x57'] = crop(sources['t1-sag-hfs'], 61, 57);
});

it('packs bits LSB first, frames back to back, padded to even length', () => {
  const bits = Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0]);
  const packed = packBits(bits);
  expect(Array.from(packed)).toEqual([0b00000001, 0b00000011]);
  expect(unpackBits(packed, bits.length)).toEqual(bits);
  expect(packBits(new Uint8Array(17)).length).toBe(4);
});

describe.each(['axial', 't1-sag-hfs', 't1-sag-hfp', 'pd-ax-oblique', 'odd-61x57'])('%s', (name) => {
  it('SEG (binary, fractional) and Parametric Map: valid, and read back exactly by dcmjs and pydicom', () => {
    const v = sources[name];
    const g = v.geometry;
    const n = sliceSize(g);
    const nz = g.dims[2];
    const mask = thresholdMask(v);
    const max = v.data.reduce((a, b) => Math.max(a, b), 0) || 1;
    const probability = Float32Array.from(v.data, (x) => x / max);
    const variance = Float32Array.from(probability, (p) => (p * (1 - p)) / 4);
    const processedSlices = Array.from({ length: nz }, (_, k) => k).filter((k) => k !== 0); // slice 0 not processed
    const base = { source: v, ensembleSize: 5, model: { id: 'halo-ddpm-brats', version: '0.1.0' }, processedSlices };
    const files = {
      seg: path.join(out, `${name}-seg.dcm`),
      frac: path.join(out, `${name}-frac.dcm`),
      pm: path.join(out, `${name}-pm.dcm`),
    };
    writeFileSync(files.seg, buildSegmentation({ ...base, content: { type: 'BINARY', mask } }));
    writeFileSync(files.frac, buildSegmentation({ ...base, content: { type: 'FRACTIONAL', probability }, omitEmptyFrames: true }));
    writeFileSync(files.pm, buildParametricMap({ ...base, variance }));

    for (const f of Object.values(files)) {
      const check = dciodvfy(f);
      expect(check.errors.filter((e) => !sourceUidError(e)), f).toEqual([]);
      expect(check.unexpectedWarnings, f).toEqual([]);
    }

    const src = v.source.kind === 'dicom' ? v.source : undefined;
    if (!src) throw new Error('dicom source expected');

    // dcmjs: the binary SEG has one frame per processed slice (none for slice 0), bits packed across frame boundaries
    const seg = parsePart10(new Uint8Array(readFileSync(files.seg))).dataset;
    expect(num(seg, 'NumberOfFrames')).toBe(processedSlices.length);
    const bytes = new Uint8Array((seg.PixelData as ArrayBuffer[])[0]);
    const bits = unpackBits(bytes, processedSlices.length * n);
    const frames = items(seg, 'PerFrameFunctionalGroupsSequence');
    processedSlices.forEach((k, f) => {
      expect(firstDiff(bits.subarray(f * n, (f + 1) * n), mask.subarray(k * n, (k + 1) * n))).toBe(-1);
      const src0 = items(items(frames[f], 'DerivationImageSequence')[0], 'SourceImageSequence')[0];
      expect(src0.ReferencedSOPInstanceUID).toBe(src.instances[k]!.sopInstanceUID);
    });
    // Each object says which slices it covers, in full, and its descriptions are not cut mid-word.
    for (const f of Object.values(files)) {
      const d = parsePart10(new Uint8Array(readFileSync(f))).dataset;
      expect(d.ImageComments, f).toContain(`PARTIAL RESULT: computed on ${nz - 1} of ${nz} slices`);
      expect(d.ImageComments, f).toContain(`: 2-${nz}.`);
      expect(String(d.SeriesDescription), f).toContain(`${nz - 1}/${nz} slices`);
      expect(String(d.ContentDescription), f).toMatch(new RegExp(`^${nz - 1}/${nz} slices; .*ensemble of 5$`));
    }

    // Content compared point by point with highdicom and dcmqi (issue 9, item 10).
    expect(seg.SegmentsOverlap).toBe('NO');
    expect(seg.DimensionOrganizationType).toBe('3D');
    const segment = items(seg, 'SegmentSequence')[0];
    expect(items(segment, 'SegmentedPropertyCategoryCodeSequence')[0].CodeMeaning).toBe('Morphologically Altered Structure');
    const algo = items(segment, 'SegmentationAlgorithmIdentificationSequence')[0];
    expect(algo).toMatchObject({ AlgorithmName: 'halo-ddpm-brats', AlgorithmVersion: '0.1.0' });
    expect(items(algo, 'AlgorithmFamilyCodeSequence')[0]).toMatchObject({ CodeValue: '123110', CodingSchemeDesignator: 'DCM' });
    expect(items(seg, 'SourceImageSequence').map((r) => r.ReferencedSOPInstanceUID)).toEqual(
      processedSlices.map((k) => src.instances[k]!.sopInstanceUID),
    );
    const pmDs = parsePart10(new Uint8Array(readFileSync(files.pm))).dataset;
    expect(pmDs.Modality).toBe(String(src.firstDataset.Modality));
    expect(pmDs.Modality).not.toBe('OT');
    expect(pmDs.DimensionOrganizationType).toBe('3D');
    expect(items(pmDs, 'CodingSchemeIdentificationSequence')[0]).toMatchObject({ CodingSchemeDesignator: '99HALO' });
    const shared = items(pmDs, 'SharedFunctionalGroupsSequence')[0];
    const voi = items(shared, 'FrameVOILUTSequence')[0];
    expect(Number(voi.WindowWidth)).toBeGreaterThan(0);
    const rwv = items(shared, 'RealWorldValueMappingSequence')[0];
    const quantity = items(rwv, 'QuantityDefinitionSequence')[0];
    expect(items(quantity, 'ConceptCodeSequence')[0]).toMatchObject({ CodeValue: 'C1711260', CodingSchemeDesignator: 'UMLS', CodeMeaning: 'Variance' });

    // pydicom: the same masks, positions and source references; fractional and PM values exact
    const [pySeg, pyFrac, pyPm] = readWithPydicom([files.seg, files.frac, files.pm]);
    const segPixels = Buffer.from(pySeg.pixels, 'base64');
    expect(pySeg.frames).toHaveLength(processedSlices.length);
    pySeg.frames.forEach((fr, f) => {
      const k = processedSlices[f];
      expect(firstDiff(segPixels.subarray(f * n, (f + 1) * n), mask.subarray(k * n, (k + 1) * n))).toBe(-1);
      expect(fr.sourceUID).toBe(src.instances[k]!.sopInstanceUID);
      const p = voxelToWorld(g, 0, 0, k);
      for (let c = 0; c < 3; c++) expect(Math.abs(fr.position[c] - p[c])).toBeLessThan(1e-3);
    });
    // The binary SEG and the Parametric Map cover exactly the same slices.
    expect(pyPm.frames.map((fr) => fr.sourceUID)).toEqual(pySeg.frames.map((fr) => fr.sourceUID));

    const fracPixels = Buffer.from(pyFrac.pixels, 'base64');
    const fracSlices = pyFrac.frames.map((f) => src.instances.findIndex((i) => i?.sopInstanceUID === f.sourceUID));
    expect(fracSlices.every((k) => k > 0)).toBe(true); // slice 0 unprocessed -> empty -> omitted
    fracSlices.forEach((k, f) => {
      const want = Uint8Array.from(probability.subarray(k * n, (k + 1) * n), (p) => Math.round(p * MAX_FRACTIONAL_VALUE));
      expect(firstDiff(fracPixels.subarray(f * n, (f + 1) * n), want)).toBe(-1);
    });

    const pmPixels = new Float32Array(new Uint8Array(Buffer.from(pyPm.pixels, 'base64')).buffer);
    expect(pyPm.frames).toHaveLength(processedSlices.length);
    processedSlices.forEach((k, f) => {
      expect(firstDiff(pmPixels.subarray(f * n, (f + 1) * n), variance.subarray(k * n, (k + 1) * n))).toBe(-1);
      expect(pyPm.frames[f].sourceUID).toBe(src.instances[k]!.sopInstanceUID);
    });
  });
});

it('says "3D" and SpacingBetweenSlices only for a complete stack of frames, not across gaps', () => {
  const v = sources['t1-sag-hfs'];
  const n = sliceSize(v.geometry);
  // Tumour on slices 10-12 and 20 only: with empty frames left out, the frames have a gap after slice 12.
  const mask = new Uint8Array(v.data.length);
  for (const k of [10, 11, 12, 20]) mask.fill(1, k * n + 100, k * n + 200);
  const base = { source: v, ensembleSize: 5, model: { id: 'm', version: '1' }, content: { type: 'BINARY' as const, mask } };
  const organisation = (bytes: Uint8Array, name: string) => {
    const file = path.join(out, name);
    writeFileSync(file, bytes);
    const check = dciodvfy(file);
    expect(check.errors.filter((e) => !sourceUidError(e)), name).toEqual([]);
    const d = parsePart10(bytes).dataset;
    const measures = items(items(d, 'SharedFunctionalGroupsSequence')[0], 'PixelMeasuresSequence')[0];
    return { type: d.DimensionOrganizationType, spacing: measures.SpacingBetweenSlices, frames: num(d, 'NumberOfFrames') };
  };
  expect(organisation(buildSegmentation({ ...base, omitEmptyFrames: true }), 'gaps-seg.dcm')).toEqual({ type: undefined, spacing: undefined, frames: 4 });
  expect(organisation(buildSegmentation({ ...base, omitEmptyFrames: true, processedSlices: [10, 11, 12] }), 'stack-seg.dcm')).toMatchObject({ type: '3D', frames: 3 });
  expect(organisation(buildSegmentation(base), 'all-seg.dcm').spacing).toBeDefined();
  // Screened-out slices make the same gaps in the Parametric Map.
  const variance = new Float32Array(v.data.length);
  expect(organisation(buildParametricMap({ ...base, variance, processedSlices: [3, 4, 9] }), 'gaps-pm.dcm')).toEqual({ type: undefined, spacing: undefined, frames: 3 });
  expect(organisation(buildParametricMap({ ...base, variance, processedSlices: [3, 4, 5] }), 'stack-pm.dcm')).toMatchObject({ type: '3D', frames: 3 });
});

it('rejects inconsistent input', () => {
  const v = sources['t1-sag-hfs'];
  const base = { source: v, ensembleSize: 5, model: { id: 'm', version: '1' } };
  expect(() => buildSegmentation({ ...base, content: { type: 'BINARY', mask: new Uint8Array(10) } })).toThrow(/mask has 10 values/);
  const bad = new Float32Array(v.data.length);
  bad[3] = 1.5;
  expect(() => buildSegmentation({ ...base, content: { type: 'FRACTIONAL', probability: bad } })).toThrow(/outside \[0, 1\]/);
  expect(() => buildParametricMap({ ...base, ensembleSize: 0, variance: new Float32Array(v.data.length) })).toThrow(/ensembleSize/);
  expect(() => buildParametricMap({ ...base, processedSlices: [99], variance: new Float32Array(v.data.length) })).toThrow(/outside/);
});

it('states slice coverage as ranges and cuts descriptions at a word, never inside a number', () => {
  expect(sliceRanges([59, 60, 61, 62, 89, 94, 95])).toBe('60-63, 90, 95-96');
  const long = 'Whole tumour probability (ensemble mean) from a 5-member diffusion ensemble; 125 slices';
  const cut = fitText(long, 64);
  expect(cut.length).toBeLessThanOrEqual(64);
  expect(cut).toBe('Whole tumour probability (ensemble mean) from a 5-member...');
  expect(fitText('short', 64)).toBe('short');
  expect(fitText('x'.repeat(80), 64)).toHaveLength(64);
});

it('records every slice the user edited: the count in SegmentDescription, the list in ImageComments (issue 22)', () => {
  const v = sources.axial;
  const edited = [6, 0, 1, 2, 4];
  const file = path.join(out, 'axial-seg-edited.dcm');
  const seg = buildSegmentation({ source: v, ensembleSize: 5, model: { id: 'wt-4seq', version: '0.5.0' }, content: { type: 'BINARY', mask: thresholdMask(v) } });
  writeFileSync(file, markEdited(Buffer.from(seg), edited));
  const d = parsePart10(new Uint8Array(readFileSync(file))).dataset;
  const segment = items(d, 'SegmentSequence')[0];
  expect(segment.SegmentAlgorithmType).toBe('SEMIAUTOMATIC');
  expect(String(segment.SegmentDescription).length).toBeLessThanOrEqual(64);
  expect(String(segment.SegmentDescription)).toMatch(/^Edited by the user on 5 slices; Whole tumour/);
  expect(String(d.ImageComments)).toMatch(/^Computed on all 8 slices of the source series .*\. Edited by the user on slices 1-3, 5, 7; /);
  const check = dciodvfy(file);
  expect(check.errors).toEqual([]);
  expect(check.unexpectedWarnings).toEqual([]);
});
