import { describe, expect, it } from "vitest";
import { History } from "../src/history";
import { PolygonTool } from "../src/tools/polygon";
import type { ToolPointer } from "../src/tools/tool";
import { docWith, toolContext } from "./helpers";

function setup() {
  const doc = docWith(20, 20, []);
  const history = new History(doc);
  const ctx = toolContext(doc, history);
  const tool = new PolygonTool(ctx);
  // Vertices far apart on screen (scale 1), so no click lands on the first vertex.
  const at = (x: number, y: number): ToolPointer => ({ x, y, sx: x * 10, sy: y * 10, shift: false, alt: false });
  return { doc, history, tool, at };
}

describe("the polygon tool's commands", () => {
  it("closes the shape on confirm, as one undo step", () => {
    const { doc, history, tool, at } = setup();
    for (const [x, y] of [[2, 2], [12, 2], [12, 12], [2, 12]]) tool.pointerDown(at(x, y));
    expect(tool.command("confirm")).toBe(true);
    expect(doc.list()).toHaveLength(1);
    expect(doc.list()[0].mask.get(5, 5)).toBe(1);
    history.undo();
    expect(doc.list()).toHaveLength(0);
  });

  it("drops the last vertex on delete and abandons the shape on escape", () => {
    const { doc, tool, at } = setup();
    tool.pointerDown(at(2, 2));
    tool.pointerDown(at(12, 2));
    expect(tool.command("delete")).toBe(true);
    expect(tool.points).toHaveLength(1);
    expect(tool.command("escape")).toBe(true);
    expect(tool.points).toHaveLength(0);
    expect(doc.list()).toHaveLength(0);
  });

  it("leaves every command to the editor while no shape is open", () => {
    const { tool } = setup();
    expect(tool.command("delete")).toBe(false);
    expect(tool.command("escape")).toBe(false);
    expect(tool.command("confirm")).toBe(false);
  });
});
