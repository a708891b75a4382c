import { describe, expect, it } from "vitest";
import type { SuperpixelsDto } from "../src/api";
import { History } from "../src/history";
import { Mask } from "../src/mask";
import { Superpixels } from "../src/superpixels";
import { SuperpixelTool } from "../src/tools/superpixel";
import type { ToolPointer } from "../src/tools/tool";
import { docWith, toolContext } from "./helpers";

/** A dto as the server writes it: labels uint16 LE, zlib, base64. */
async function deflate(bytes: Uint8Array): Promise<string> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("deflate"));
  const out = new Uint8Array(await new Response(stream).arrayBuffer());
  let binary = "";
  for (let i = 0; i < out.length; i += 0x8000) binary += String.fromCharCode(...out.subarray(i, i + 0x8000));
  return btoa(binary);
}

async function dto(w: number, h: number, factor: number, grids: number[][]): Promise<SuperpixelsDto> {
  const gw = Math.ceil(w / factor);
  const gh = Math.ceil(h / factor);
  return {
    method: "slic",
    image_size: [h, w],
    grid_size: [gh, gw],
    factor,
    computed: false,
    ms: 1,
    levels: await Promise.all(
      grids.map(async (g) => ({ side: 1, segments: g.reduce((a, b) => Math.max(a, b), 0) + 1, labels: await deflate(new Uint8Array(new Uint16Array(g).buffer)) })),
    ),
  };
}

/** Grid labels: the left half 0, the right half 1, on a gw x gh grid. */
function halves(gw: number, gh: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < gh; y++) for (let x = 0; x < gw; x++) out.push(x < gw / 2 ? 0 : 1);
  return out;
}

describe("Superpixels", () => {
  it("decodes the server's grid and maps image pixels to cells by floor(x / f)", async () => {
    // A 7x5 image on a factor-2 grid: 4x3 cells, the last column and row of cells half outside.
    const sp = await Superpixels.fromDto(await dto(7, 5, 2, [halves(4, 3)]));
    expect([sp.gridW, sp.gridH, sp.factor]).toEqual([4, 3, 2]);
    expect(sp.labelAt(0, 3.9, 0)).toBe(0); // cell 1
    expect(sp.labelAt(0, 4, 4.5)).toBe(1); // cell 2
    expect(sp.labelAt(0, 6.99, 4.99)).toBe(1);
    expect(sp.labelAt(0, 7, 0)).toBe(-1);
    expect(sp.labelAt(0, -0.1, 0)).toBe(-1);
    expect(sp.segmentRect(0, 1)).toEqual({ x: 4, y: 0, w: 3, h: 5 });
  });

  it("paints exactly the segment's pixels and clears them again", async () => {
    const sp = await Superpixels.fromDto(await dto(7, 5, 2, [halves(4, 3)]));
    const mask = new Mask(7, 5);
    sp.paint(mask, 0, 1, 1);
    const full = mask.read({ x: 0, y: 0, w: 7, h: 5 });
    for (let y = 0; y < 5; y++) for (let x = 0; x < 7; x++) expect(full[y * 7 + x]).toBe(x >= 4 ? 1 : 0);
    sp.paint(mask, 0, 1, 0);
    expect(mask.isBlank()).toBe(true);
  });

  it("outlines a segment with the cell edges it shares with others and the image border", async () => {
    const sp = await Superpixels.fromDto(await dto(4, 2, 1, [[0, 0, 1, 1, 0, 0, 1, 1]]));
    const edges = sp.outline(0, 0);
    // Segment 0 is the 2x2 block on the left: 8 unit edges around it.
    expect(edges.length / 4).toBe(8);
    const xs = new Set<number>();
    for (let i = 0; i < edges.length; i += 2) xs.add(edges[i]);
    expect([...xs].sort()).toEqual([0, 1, 2]);
  });

  it("looks a pixel up in well under a microsecond on a 1024x768 grid", async () => {
    const gw = 1024;
    const gh = 768;
    const labels: number[] = new Array(gw * gh);
    for (let i = 0; i < labels.length; i++) labels[i] = Math.floor((i % gw) / 16) + 64 * Math.floor(Math.floor(i / gw) / 16);
    const sp = await Superpixels.fromDto(await dto(gw, gh, 1, [labels]));
    let sum = 0;
    const n = 200_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sum += sp.labelAt(0, (i * 7) % gw, (i * 13) % gh);
    const perLookupMs = (performance.now() - t0) / n;
    expect(sum).toBeGreaterThan(0);
    expect(perLookupMs).toBeLessThan(0.01);
  });
});

function toolSetup(sp: Superpixels) {
  const doc = docWith(sp.width, sp.height, []);
  const history = new History(doc);
  let level = 0;
  const ctx = toolContext(doc, history, {
    superpixels: () => sp,
    superpixelLevel: () => level,
    setSuperpixelLevel: (l) => {
      level = Math.max(0, Math.min(sp.levels.length - 1, l));
    },
  });
  const at = (x: number, y: number, alt = false): ToolPointer => ({ x, y, sx: x, sy: y, shift: false, alt });
  return { doc, history, tool: new SuperpixelTool(ctx), at, level: () => level };
}

describe("SuperpixelTool", () => {
  // 8x2 image, level 0: four 2x2 segments in a row; level 1: eight 1x2 columns.
  const coarse = [0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 1, 1, 2, 2, 3, 3];
  const fine = [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7];

  it("adds the superpixels a drag crosses in one undo step, and Alt-drag removes them", async () => {
    const sp = await Superpixels.fromDto(await dto(8, 2, 1, [coarse, fine]));
    const { doc, history, tool, at } = toolSetup(sp);
    tool.pointerDown(at(0.5, 0.5));
    tool.pointerMove(at(4.5, 1.5)); // crosses segments 0, 1 and 2
    tool.pointerUp(at(4.5, 1.5));
    const [item] = doc.list();
    expect(Array.from(item.mask.read({ x: 0, y: 0, w: 8, h: 2 }))).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0]);
    expect(history.canUndo).toBe(true);
    tool.pointerDown(at(2.5, 0.5, true));
    tool.pointerUp(at(2.5, 0.5, true));
    expect(Array.from(item.mask.read({ x: 0, y: 0, w: 8, h: 2 }))).toEqual([1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]);
    history.undo();
    history.undo();
    expect(doc.list()).toHaveLength(0);
  });

  it("[ and ] step to finer and coarser superpixels", async () => {
    const sp = await Superpixels.fromDto(await dto(8, 2, 1, [coarse, fine]));
    const { doc, tool, at, level } = toolSetup(sp);
    expect(tool.command("brush.smaller")).toBe(true);
    expect(level()).toBe(1);
    tool.pointerDown(at(2.5, 0.5));
    tool.pointerUp(at(2.5, 0.5));
    expect(Array.from(doc.list()[0].mask.read({ x: 0, y: 0, w: 8, h: 1 }))).toEqual([0, 0, 1, 0, 0, 0, 0, 0]);
    tool.command("brush.larger");
    tool.command("brush.larger");
    expect(level()).toBe(0);
  });
});
