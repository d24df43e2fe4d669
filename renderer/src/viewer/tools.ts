/**
 * The mouse tools of every viewport, in one tool group: window/level (primary), pan (middle), a gentle zoom
 * (secondary), the brush and eraser that take the primary button while the user corrects the mask, and the
 * measurement tools (RANO's bidirectional diameters, length, elliptical ROI) that take it while the user measures.
 * The measurement tools stay passive otherwise: their annotations are drawn and their handles can be dragged.
 */
import { utilities as csUtils } from '@cornerstonejs/core';
import {
  BidirectionalTool,
  BrushTool,
  EllipticalROITool,
  Enums as ToolEnums,
  LengthTool,
  PanTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  addTool,
} from '@cornerstonejs/tools';

/** Tools that measure on the slice in view. */
export type MeasureTool = 'bidirectional' | 'length' | 'ellipse';
/** What the primary mouse button does: window/level, paint / erase the tumour mask, or measure. */
export type EditTool = 'none' | 'brush' | 'eraser' | MeasureTool;

/** Cornerstone's tool name of each measurement tool. */
export const MEASURE_TOOL_NAMES: Record<MeasureTool, string> = {
  bidirectional: BidirectionalTool.toolName,
  length: LengthTool.toolName,
  ellipse: EllipticalROITool.toolName,
};

const TOOL_GROUP = 'halo-tools';
const BRUSH = 'HaloBrush';
const ERASER = 'HaloEraser';
const PRIMARY: Record<EditTool, string> = { none: WindowLevelTool.toolName, brush: BRUSH, eraser: ERASER, ...MEASURE_TOOL_NAMES };

/**
 * Right-drag zoom at a quarter of Cornerstone's rate (5 × the viewport height per drag is far too fast to
 * frame a lesion): the drag's movement is scaled before the stock zoom sees it.
 */
class GentleZoomTool extends ZoomTool {
  static override toolName = 'HaloZoom';
  constructor(...args: ConstructorParameters<typeof ZoomTool>) {
    super(...args);
    this.mouseDragCallback = (evt) => {
      const d = evt.detail;
      const c = d.deltaPoints.canvas;
      this._dragCallback({ ...evt, detail: { ...d, deltaPoints: { ...d.deltaPoints, canvas: [c[0] * 0.25, c[1] * 0.25] } } } as typeof evt);
    };
  }
}

/** Once per page, after Cornerstone's tools are initialised. */
export function registerTools(): void {
  addTool(WindowLevelTool);
  addTool(PanTool);
  addTool(GentleZoomTool);
  addTool(BrushTool);
  for (const tool of [BidirectionalTool, LengthTool, EllipticalROITool]) addTool(tool);
}

/** The tool group of a freshly loaded study, with window/level on the primary button. */
export function createToolGroup(engineId: string, viewportIds: string[]): void {
  const group = ToolGroupManager.createToolGroup(TOOL_GROUP)!;
  group.addTool(WindowLevelTool.toolName);
  group.addTool(PanTool.toolName);
  group.addTool(GentleZoomTool.toolName);
  group.addToolInstance(BRUSH, BrushTool.toolName, { activeStrategy: 'FILL_INSIDE_CIRCLE', brushSize: 6 });
  group.addToolInstance(ERASER, BrushTool.toolName, { activeStrategy: 'ERASE_INSIDE_CIRCLE', brushSize: 6 });
  group.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Primary }] });
  group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Auxiliary }] });
  group.setToolActive(GentleZoomTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Secondary }] });
  for (const name of Object.values(MEASURE_TOOL_NAMES)) {
    group.addTool(name);
    group.setToolPassive(name);
  }
  for (const id of viewportIds) group.addViewport(id, engineId);
}

/** Primary button: window/level ('none'), paint the mask ('brush'), erase it ('eraser') or measure. False without a study. */
export function bindEditTool(tool: EditTool, size?: number): boolean {
  const group = ToolGroupManager.getToolGroup(TOOL_GROUP);
  if (!group) return false;
  for (const name of Object.values(PRIMARY)) group.setToolPassive(name);
  const primary = { bindings: [{ mouseButton: ToolEnums.MouseBindings.Primary }] };
  group.setToolActive(PRIMARY[tool], primary);
  if (size) for (const name of [BRUSH, ERASER]) group.setToolConfiguration(name, { brushSize: size });
  return true;
}

/** Undo the last paint or erase stroke. */
export function undoStroke(): void {
  csUtils.HistoryMemo.DefaultHistoryMemo.undo();
}

export function destroyToolGroup(): void {
  if (ToolGroupManager.getToolGroup(TOOL_GROUP)) ToolGroupManager.destroyToolGroup(TOOL_GROUP);
}
