/**
 * The mouse tools of the reformats: window/level (primary), pan (middle) and the viewer's gentle zoom (secondary),
 * in a tool group of their own. The brush and eraser stay with the acquisition plane (tools.ts): a stroke there
 * is one slice of the result, the unit corrections are kept and saved in.
 */
import { Enums as ToolEnums, PanTool, ToolGroupManager, WindowLevelTool } from '@cornerstonejs/tools';

const GROUP = 'halo-reformat-tools';
/** The zoom tools.ts registers (a quarter of Cornerstone's rate). */
const ZOOM = 'HaloZoom';

export function createReformatToolGroup(engineId: string, viewportIds: string[]): void {
  if (!viewportIds.length) return;
  const group = ToolGroupManager.createToolGroup(GROUP)!;
  group.addTool(WindowLevelTool.toolName);
  group.addTool(PanTool.toolName);
  group.addTool(ZOOM);
  group.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Primary }] });
  group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Auxiliary }] });
  group.setToolActive(ZOOM, { bindings: [{ mouseButton: ToolEnums.MouseBindings.Secondary }] });
  for (const id of viewportIds) group.addViewport(id, engineId);
}

export function destroyReformatToolGroup(): void {
  if (ToolGroupManager.getToolGroup(GROUP)) ToolGroupManager.destroyToolGroup(GROUP);
}
