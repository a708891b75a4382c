import { describe, expect, it } from "vitest";
import { Mask } from "../src/mask";
import { tintLevelRect } from "../src/render/tint";
import { countsToCrop, countsToLevel, encodeBitmap, stringToCounts } from "../src/rle";

/** A deterministic pseudo-random bitmap: blobs, holes, a run across columns, a pixel at the corner. */
function bitmap(w: number, h: number, seed: number): Uint8Array {
  let s = seed;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const out = new Uint8Array(w * h);
  for (let k = 0; k < 6; k++) {
    const cx = rnd() * w, cy = rnd() * h, rx = 1 + rnd() * w / 3, ry = 1 + rnd() * h / 3;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      if (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1) out[y * w + x] = k % 3 === 2 ? 0 : 1;
    }
  }
  if (seed % 2) out[(h - 1) * w + (w - 1)] = 1;
  return out;
}

describe("masks loaded lazily", () => {
  it("sample the same level pixels from the runs as from the decoded crop, at every level", () => {
    for (let seed = 1; seed <= 12; seed++) {
      const w = 37 + seed * 3, h = 29 + seed * 5;
      const rle = encodeBitmap(h, w, bitmap(w, h, seed));
      const runs = stringToCounts(rle.counts);
      const crop = countsToCrop(h, w, runs);
      for (const f of [2, 3, 4, 8]) {
        const level = countsToLevel(h, runs, crop, f);
        const lw = Math.ceil(crop.w / f), lh = Math.ceil(crop.h / f);
        const expected = new Uint8Array(lw * lh);
        for (let ly = 0; ly < lh; ly++) for (let lx = 0; lx < lw; lx++) {
          const x = Math.min(crop.w - 1, lx * f + (f >> 1)), y = Math.min(crop.h - 1, ly * f + (f >> 1));
          expected[ly * lw + lx] = crop.data[y * crop.w + x];
        }
        expect(Array.from(level), `seed ${seed} f ${f}`).toEqual(Array.from(expected));
      }
    }
  });

  it("tint to the same pixels before and after decoding", () => {
    const w = 90, h = 70;
    const rle = encodeBitmap(h, w, bitmap(w, h, 5));
    const style = { rgb: [200, 10, 10] as [number, number, number], fillAlpha: 128, proposal: true, outline: 1, period: 6 };
    const lazy = Mask.fromRle(rle);
    const f = 4;
    const lrect = { x: 0, y: 0, w: Math.ceil(lazy.region.w / f), h: Math.ceil(lazy.region.h / f) };
    const before = new Uint8ClampedArray(lrect.w * lrect.h * 4);
    tintLevelRect(lazy, f, lrect, style, before);
    expect(lazy.decoded).toBe(false);
    const eager = Mask.fromRle(rle);
    void eager.data; // decode
    const after = new Uint8ClampedArray(lrect.w * lrect.h * 4);
    tintLevelRect(eager, f, lrect, style, after);
    expect(Array.from(before)).toEqual(Array.from(after));
  });

  it("send their counts back unchanged without decoding, and decode on the first edit", () => {
    const w = 50, h = 40;
    const pixels = bitmap(w, h, 3);
    const rle = encodeBitmap(h, w, pixels);
    const mask = Mask.fromRle(rle);
    expect(mask.toRle()).toEqual(rle);
    expect(mask.isBlank()).toBe(false);
    expect(mask.decoded).toBe(false);
    mask.write({ x: 0, y: 0, w: 1, h: 1 }, new Uint8Array([1]));
    expect(mask.decoded).toBe(true);
    const expected = pixels.slice();
    expected[0] = 1;
    expect(mask.toRle()).toEqual(encodeBitmap(h, w, expected));
  });
});

/** The coarse tint's rule written plainly (as it was before it read a padded buffer). */
function referenceLevelTint(mask: Mask, f: number, lrect: { x: number; y: number; w: number; h: number }, style: { rgb: [number, number, number]; fillAlpha: number; proposal: boolean; period: number }): number[] {
  const reg = mask.region;
  const lw = Math.ceil(reg.w / f), lh = Math.ceil(reg.h / f), half = f >> 1;
  const data = mask.data;
  const sample = (lx: number, ly: number): number =>
    lx < 0 || ly < 0 || lx >= lw || ly >= lh ? 0 : data[Math.min(reg.h - 1, ly * f + half) * reg.w + Math.min(reg.w - 1, lx * f + half)];
  const period = Math.max(2, Math.round(style.period / f)), hatch = period >> 1;
  const out: number[] = [];
  for (let ly = lrect.y; ly < lrect.y + lrect.h; ly++) for (let lx = lrect.x; lx < lrect.x + lrect.w; lx++) {
    if (!sample(lx, ly)) { out.push(-1, -1, -1, 0); continue; }
    const edge = !sample(lx - 1, ly) || !sample(lx + 1, ly) || !sample(lx, ly - 1) || !sample(lx, ly + 1);
    const a = !edge ? (style.proposal ? ((lx + ly) % period < hatch ? Math.max(style.fillAlpha, 110) : 0) : style.fillAlpha)
      : (style.proposal ? ((lx + ly) % (2 * period) < period ? 255 : 40) : 255);
    out.push(...style.rgb, a);
  }
  return out;
}

describe("the coarse tint", () => {
  it("gives every pixel of a sub-rectangle as the plain rule does, lazy or decoded", () => {
    for (const proposal of [false, true]) {
      const w = 120, h = 90;
      const rle = encodeBitmap(h, w, bitmap(w, h, 7));
      const style = { rgb: [10, 200, 30] as [number, number, number], fillAlpha: 90, proposal, outline: 1, period: 8 };
      for (const decode of [false, true]) {
        const mask = Mask.fromRle(rle);
        if (decode) void mask.data;
        const lrect = { x: 3, y: 2, w: 17, h: 11 };
        const out = new Uint8ClampedArray(lrect.w * lrect.h * 4);
        tintLevelRect(mask, 3, lrect, style, out);
        const expected = referenceLevelTint(Mask.fromRle(rle), 3, lrect, style);
        // Colour only where the rule paints (its -1: a pixel outside the mask, whose colour is never written).
        const got = Array.from(out).map((v, i) => (expected[i] === -1 ? -1 : v));
        expect(got).toEqual(expected);
      }
    }
  });
});
