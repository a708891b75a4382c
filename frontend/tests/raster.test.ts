import { describe, expect, it } from "vitest";
import { Mask } from "../src/mask";
import { enclosedRegion, fillPolygon, paintCapsule } from "../src/raster";
import { decodeToBitmap, encodeBitmap } from "../src/rle";

function full(mask: Mask): Uint8Array {
  const out = new Uint8Array(mask.imageWidth * mask.imageHeight);
  for (let y = 0; y < mask.imageHeight; y++) for (let x = 0; x < mask.imageWidth; x++) out[y * mask.imageWidth + x] = mask.get(x, y);
  return out;
}

describe("brush capsules", () => {
  it("paints exactly the pixels whose centre is within the radius of the segment", () => {
    const m = new Mask(40, 30);
    paintCapsule(m, { x: 10, y: 10 }, { x: 30, y: 10 }, 3, 1);
    for (let y = 0; y < 30; y++) {
      for (let x = 0; x < 40; x++) {
        const px = x + 0.5;
        const py = y + 0.5;
        const t = Math.max(0, Math.min(1, (px - 10) / 20));
        const d = Math.hypot(px - (10 + 20 * t), py - 10);
        expect(m.get(x, y)).toBe(d <= 3 ? 1 : 0);
      }
    }
  });

  it("erases only inside the stored region and clips at the image border", () => {
    const m = new Mask(20, 20);
    paintCapsule(m, { x: 0, y: 0 }, { x: 19, y: 19 }, 2, 1);
    expect(m.region.x).toBe(0);
    expect(m.get(0, 0)).toBe(1);
    paintCapsule(m, { x: 0, y: 0 }, { x: 19, y: 19 }, 5, 0);
    expect(m.isBlank()).toBe(true);
  });

  it("grows the region without losing pixels", () => {
    const m = new Mask(500, 400);
    paintCapsule(m, { x: 10, y: 10 }, { x: 10, y: 10 }, 2, 1);
    const before = full(m);
    paintCapsule(m, { x: 450, y: 350 }, { x: 450, y: 350 }, 2, 1);
    const after = full(m);
    for (let i = 0; i < before.length; i++) if (before[i]) expect(after[i]).toBe(1);
    expect(m.get(450, 350)).toBe(1);
  });
});

describe("polygon fill", () => {
  it("fills an axis-aligned rectangle exactly", () => {
    const m = new Mask(20, 15);
    fillPolygon(m, [{ x: 3, y: 2 }, { x: 11, y: 2 }, { x: 11, y: 9 }, { x: 3, y: 9 }], 1);
    for (let y = 0; y < 15; y++) for (let x = 0; x < 20; x++) expect(m.get(x, y)).toBe(x >= 3 && x < 11 && y >= 2 && y < 9 ? 1 : 0);
  });

  it("uses pixel centres for slanted edges", () => {
    const m = new Mask(10, 10);
    fillPolygon(m, [{ x: 0, y: 0 }, { x: 10, y: 0 }, { x: 0, y: 10 }], 1);
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) expect(m.get(x, y)).toBe(x + 0.5 + (y + 0.5) < 10 ? 1 : 0);
  });

  it("ignores degenerate polygons", () => {
    const m = new Mask(10, 10);
    fillPolygon(m, [{ x: 1, y: 1 }, { x: 5, y: 5 }], 1);
    expect(m.isBlank()).toBe(true);
  });
});

describe("enclosed-region fill", () => {
  it("finds the hole of a ring and refuses open areas", () => {
    const w = 30;
    const h = 30;
    const bitmap = new Uint8Array(w * h);
    for (let y = 5; y < 25; y++) for (let x = 5; x < 25; x++) if (x < 8 || x >= 22 || y < 8 || y >= 22) bitmap[y * w + x] = 1;
    const m = Mask.fromRle(encodeBitmap(h, w, bitmap));
    const hole = enclosedRegion(m, { x: 15, y: 15 });
    expect(hole).not.toBeNull();
    expect(hole?.rect).toEqual({ x: 8, y: 8, w: 14, h: 14 });
    expect(hole?.pixels.every((v) => v === 1)).toBe(true);
    expect(enclosedRegion(m, { x: 2, y: 2 })).toBeNull();
    expect(enclosedRegion(m, { x: 6, y: 6 })).toBeNull();
  });

  it("round-trips a mask through RLE after editing", () => {
    const m = new Mask(64, 48);
    paintCapsule(m, { x: 5, y: 5 }, { x: 50, y: 40 }, 4, 1);
    const rle = m.toRle();
    expect(decodeToBitmap(rle)).toEqual(full(m));
    expect(Mask.fromRle(rle).toRle().counts).toBe(rle.counts);
  });
});
