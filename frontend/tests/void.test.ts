import { describe, expect, it } from "vitest";
import type { AnnotationDocumentDto, Api, DeltaRequestDto, DeltaSavedDto, SaveRequestDto, SavedDocumentDto } from "../src/api";
import { EditorDocument } from "../src/document";
import { Mask } from "../src/mask";
import { paintCapsule } from "../src/raster";
import { type CocoRle, decodeToBitmap, encodeBitmap } from "../src/rle";
import { History } from "../src/history";
import { bindingFor } from "../src/keymap";
import { SaveController } from "../src/save";
import type { Timer } from "../src/timer";
import type { ToolPointer } from "../src/tools/tool";
import { VoidTool } from "../src/tools/void";
import { VoidLayer, hatchVoidLevel, hatchVoidRect } from "../src/void-layer";
import { CLASSES, echoDelta, rectBitmap, toolContext } from "./helpers";

const W = 40;
const H = 30;

function docWithVoid(voidRle: CocoRle | null, version = 1): EditorDocument {
  const dto: AnnotationDocumentDto = { image: 9, version, width: W, height: H, void: voidRle, annotations: [] };
  return new EditorDocument(W, H, CLASSES, dto);
}

const at = (x: number, y: number, alt = false): ToolPointer => ({ x, y, sx: x, sy: y, shift: false, alt });

function drag(tool: VoidTool, points: Array<[number, number]>, alt = false): void {
  tool.pointerDown(at(...points[0], alt));
  for (const p of points.slice(1)) tool.pointerMove(at(...p, alt));
  tool.pointerUp(at(...points[points.length - 1], alt));
}

/** What the brush's pixel rule gives for a capsule painted (1) or cleared (0) on `base`. */
function capsuleOn(base: Uint8Array, a: [number, number], b: [number, number], r: number, value: 0 | 1): Uint8Array {
  const m = new Mask(W, H, { x: 0, y: 0, w: W, h: H }, base.slice());
  paintCapsule(m, { x: a[0], y: a[1] }, { x: b[0], y: b[1] }, r, value);
  return m.read({ x: 0, y: 0, w: W, h: H });
}

const full = (doc: EditorDocument): Uint8Array => doc.voidLayer.mask.read({ x: 0, y: 0, w: W, h: H });

describe("the void layer", () => {
  it("decodes the document's void RLE and encodes it back to the same string, pixel for pixel", () => {
    const bitmap = rectBitmap(W, H, 3, 4, 17, 25);
    bitmap[29 * W + 39] = 1; // last pixel of the image
    bitmap[0] = 1; // first one
    const rle = encodeBitmap(H, W, bitmap);
    const layer = new VoidLayer(W, H, rle);
    expect(layer.mask.read({ x: 0, y: 0, w: W, h: H })).toEqual(bitmap);
    expect(layer.toRle()).toEqual(rle);
    expect(decodeToBitmap(layer.toRle() as CocoRle)).toEqual(bitmap);
    expect(layer.pixelCount()).toBe(14 * 21 + 2);
  });

  it("reads null as no void pixels and gives null back", () => {
    const layer = new VoidLayer(W, H, null);
    expect(layer.pixelCount()).toBe(0);
    expect(layer.toRle()).toBeNull();
  });

  it("refuses a void region of another size than the image", () => {
    expect(() => new VoidLayer(W, H, encodeBitmap(H, W + 1, new Uint8Array(H * (W + 1))))).toThrow(/30x41 on a 30x40 image/);
  });

  it("hatches void pixels in light and dark stripes running the other way from proposals, and leaves the rest clear", () => {
    const layer = new VoidLayer(W, H, encodeBitmap(H, W, rectBitmap(W, H, 0, 0, 20, 20)));
    const out = new Uint8ClampedArray(W * H * 4);
    hatchVoidRect(layer.mask, { x: 0, y: 0, w: W, h: H }, 8, out);
    const px = (x: number, y: number): number[] => Array.from(out.subarray((y * W + x) * 4, (y * W + x) * 4 + 4));
    expect(px(30, 5)[3]).toBe(0);
    expect(px(0, 0)).toEqual([235, 235, 235, 200]);
    expect(px(4, 0)).toEqual([70, 70, 70, 200]);
    // Stripes are constant along x - y (top-left to bottom-right), neutral grey (r = g = b).
    for (let y = 0; y < 12; y++) expect(px(y + 2, y)).toEqual(px(2, 0));
    expect(px(1, 3)).toEqual([70, 70, 70, 200]);
  });
});

describe("the void hatch when zoomed out", () => {
  it("gives one pixel per f x f block, void where the block's centre is, with stripes as wide in the image", () => {
    const bitmap = rectBitmap(W, H, 0, 0, 21, 30); // columns 0-20 void
    const layer = new VoidLayer(W, H, encodeBitmap(H, W, bitmap));
    const reg = layer.mask.region;
    const f = 4;
    const lw = Math.ceil(reg.w / f);
    const lh = Math.ceil(reg.h / f);
    const out = new Uint8ClampedArray(lw * lh * 4);
    hatchVoidLevel(layer.mask, f, { x: 0, y: 0, w: lw, h: lh }, 16, out);
    for (let ly = 0; ly < lh; ly++) {
      for (let lx = 0; lx < lw; lx++) {
        const x = Math.min(reg.w - 1, lx * f + 2);
        const y = Math.min(reg.h - 1, ly * f + 2);
        expect(out[(ly * lw + lx) * 4 + 3] > 0).toBe(bitmap[(reg.y + y) * W + reg.x + x] === 1);
      }
    }
    // Period 16 image px is 4 level px: 2 light, 2 dark along a row.
    const row = [0, 1, 2, 3].map((lx) => out[lx * 4]);
    expect(row.filter((v) => v === 235)).toHaveLength(2);
    expect(row.filter((v) => v === 70)).toHaveLength(2);
  });
});

describe("the void tool", () => {
  it("is Shift+V, next to the select tool's V", () => {
    const press = (key: string, shiftKey: boolean) => bindingFor({ key, shiftKey, ctrlKey: false, metaKey: false, altKey: false });
    expect(press("V", true)?.tool).toBe("void");
    expect(press("v", false)?.tool).toBe("select");
  });

  it("paints a stroke of the brush's size, erases with Alt, and undoes and redoes each stroke", () => {
    const doc = docWithVoid(null);
    const history = new History(doc);
    const tool = new VoidTool(toolContext(doc, history, { brushRadius: () => 3 }));
    drag(tool, [[5, 5], [15, 8], [25, 10]]);
    const painted = capsuleOn(capsuleOn(new Uint8Array(W * H), [5, 5], [15, 8], 3, 1), [15, 8], [25, 10], 3, 1);
    expect(full(doc)).toEqual(painted);
    expect(doc.dirty).toBe(true);
    expect(doc.list()).toHaveLength(0); // no annotation was made

    const before = doc.voidLayer.pixelCount();
    drag(tool, [[15, 2], [15, 14]], true);
    const erased = capsuleOn(painted, [15, 2], [15, 14], 3, 0);
    expect(full(doc)).toEqual(erased);
    expect(doc.voidLayer.pixelCount()).toBeLessThan(before);

    history.undo();
    expect(full(doc)).toEqual(painted);
    history.undo();
    expect(full(doc)).toEqual(new Uint8Array(W * H));
    expect(history.canUndo).toBe(false);
    history.redo();
    history.redo();
    expect(full(doc)).toEqual(erased);
  });

  it("keeps the pixel count exact through strokes, erasing, undo and redo", () => {
    const doc = docWithVoid(encodeBitmap(H, W, rectBitmap(W, H, 0, 0, 12, 12)));
    const history = new History(doc);
    const tool = new VoidTool(toolContext(doc, history, { brushRadius: () => 3 }));
    const counts = (): [number, number] => [doc.voidLayer.pixelCount(), doc.voidLayer.mask.area()];
    expect(doc.voidLayer.pixelCount()).toBe(144);
    drag(tool, [[8, 8], [30, 20]]);
    expect(counts()[0]).toBe(counts()[1]);
    drag(tool, [[2, 2], [10, 10]], true);
    expect(counts()[0]).toBe(counts()[1]);
    history.undo();
    expect(counts()[0]).toBe(counts()[1]);
    history.undo();
    expect(doc.voidLayer.pixelCount()).toBe(144);
    history.redo();
    expect(counts()[0]).toBe(counts()[1]);
  });

  it("records nothing for a stroke that changed no pixel and puts an abandoned stroke back", () => {
    const doc = docWithVoid(null);
    const history = new History(doc);
    const tool = new VoidTool(toolContext(doc, history, { brushRadius: () => 2 }));
    drag(tool, [[5, 5]], true); // erasing where nothing is void
    expect(history.canUndo).toBe(false);
    tool.pointerDown(at(10, 10));
    tool.pointerMove(at(20, 10));
    tool.cancel();
    expect(full(doc)).toEqual(new Uint8Array(W * H));
    expect(history.canUndo).toBe(false);
  });

  it("shows a hidden void region again when it paints", () => {
    const doc = docWithVoid(null);
    const tool = new VoidTool(toolContext(doc, new History(doc)));
    doc.setVoidVisible(false);
    drag(tool, [[5, 5]]);
    expect(doc.voidLayer.visible).toBe(true);
  });
});

class FakeApi implements Api {
  /** Every save's body, full (PUT) or delta (PATCH, what the editor sends). */
  saves: Array<SaveRequestDto | DeltaRequestDto> = [];
  private echo = echoDelta();
  project(): never {
    throw new Error("unused");
  }
  image(): never {
    throw new Error("unused");
  }
  setImageStatus(): never {
    throw new Error("unused");
  }
  assist(): never {
    throw new Error("unused");
  }
  superpixels(): never {
    throw new Error("unused");
  }
  annotations(): never {
    throw new Error("unused");
  }
  async saveAnnotations(_id: number, body: SaveRequestDto): Promise<SavedDocumentDto> {
    this.saves.push(JSON.parse(JSON.stringify(body)) as SaveRequestDto);
    return { image: 9, version: body.version + 1, width: W, height: H, void: body.void ?? null, saved_ids: [], annotations: [] };
  }
  async saveDelta(_id: number, body: DeltaRequestDto): Promise<DeltaSavedDto> {
    this.saves.push(JSON.parse(JSON.stringify(body)) as DeltaRequestDto);
    return this.echo(body);
  }
}

const noWait: Timer = { sleep: () => Promise.resolve() };

function saving(voidRle: CocoRle | null) {
  const doc = docWithVoid(voidRle);
  const history = new History(doc);
  const api = new FakeApi();
  const saver = new SaveController(api, 9, doc, noWait, [10]);
  const tool = new VoidTool(toolContext(doc, history, { brushRadius: () => 4 }));
  doc.events.on("changed", (c) => {
    if (c.kind === "void") saver.noteEdit();
  });
  return { doc, history, api, saver, tool };
}

describe("saving the void region", () => {
  it("sends void only when it changed, as the RLE of every void pixel", async () => {
    const start = encodeBitmap(H, W, rectBitmap(W, H, 0, 0, 10, 10));
    const { doc, api, saver, tool, history } = saving(start);
    // Something else changed: the save leaves void out, so the server keeps its region.
    const item = doc.createItem(1);
    item.mask.write({ x: 30, y: 20, w: 2, h: 2 }, new Uint8Array([1, 1, 1, 1]));
    history.commit({ label: "add", changes: [{ kind: "add", item }] });
    await saver.save();
    expect("void" in api.saves[0]).toBe(false);

    drag(tool, [[20, 15], [30, 15]]);
    expect(saver.state.kind).toBe("dirty");
    expect(await saver.save()).toBe(true);
    const sent = api.saves[1].void as CocoRle;
    expect(decodeToBitmap(sent)).toEqual(full(doc));
    expect(saver.state.kind).toBe("saved");

    // Saved: a later save without void edits leaves it out again.
    history.commit({ label: "remove", changes: [{ kind: "remove", item }] });
    await saver.save();
    expect("void" in api.saves[2]).toBe(false);
  });

  it("sends null when the user erased every void pixel", async () => {
    const { doc, api, saver, tool } = saving(encodeBitmap(H, W, rectBitmap(W, H, 2, 2, 6, 6)));
    tool.pointerDown(at(4, 4, true));
    tool.pointerUp(at(4, 4, true));
    expect(doc.voidLayer.pixelCount()).toBe(0);
    expect(doc.dirty).toBe(true);
    await saver.save();
    expect(api.saves[0].void).toBeNull();
  });

  it("leaves void out when a stroke was undone back to what the server holds", async () => {
    const { doc, api, saver, tool, history } = saving(encodeBitmap(H, W, rectBitmap(W, H, 2, 2, 6, 6)));
    drag(tool, [[20, 20]]);
    history.undo();
    expect(doc.dirty).toBe(true);
    await saver.save();
    // Nothing differs from what the server holds: the delta is empty and no request goes out.
    expect(api.saves).toHaveLength(0);
    expect(doc.dirty).toBe(false);
  });

  it("sends a void change made while a save was in flight with the next save", async () => {
    const { doc, api, saver, tool } = saving(null);
    drag(tool, [[10, 10]]);
    const first = saver.save();
    drag(tool, [[30, 20]]); // lands after the first payload was built
    await first;
    expect(doc.dirty).toBe(true);
    await saver.save();
    expect(api.saves).toHaveLength(2);
    expect(decodeToBitmap(api.saves[1].void as CocoRle)).toEqual(full(doc));
  });
});

describe("the void row's pixel count", () => {
  it("groups thousands with commas as en-US does, without Intl", async () => {
    const { groupThousands } = await import("../src/ui/panels");
    for (const n of [0, 7, 999, 1000, 65536, 1574015, 12000000]) expect(groupThousands(n)).toBe(n.toLocaleString("en-US"));
  });
});

