import { describe, expect, it } from "vitest";
import { Mask } from "../src/mask";
import { tintLevelRect, tintRect, type TintStyle } from "../src/render/tint";
import { levelSize, runTintRequest } from "../src/render/tint-job";
import { countsToCrop, encodeBitmap, stringToCounts } from "../src/rle";

/** Deterministic ellipses (and a hole) in a w x h image. */
function bitmap(w: number, h: number, seed: number): Uint8Array {
  let s = seed;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const out = new Uint8Array(w * h);
  for (let k = 0; k < 4; k++) {
    const cx = rnd() * w, cy = rnd() * h, rx = 2 + rnd() * w / 4, ry = 2 + rnd() * h / 4;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      if (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1) out[y * w + x] = k === 3 ? 0 : 1;
    }
  }
  return out;
}

const style = (proposal: boolean): TintStyle => ({ rgb: [232, 89, 12], fillAlpha: 128, proposal, outline: 2, period: 8 });

describe("a tint worker's job", () => {
  it("gives the tint the main thread draws from the decoded mask, pixel for pixel, at every level", () => {
    const w = 160, h = 120;
    for (let seed = 1; seed <= 6; seed++) {
      const rle = encodeBitmap(h, w, bitmap(w, h, seed));
      const crop = countsToCrop(h, w, stringToCounts(rle.counts));
      const decoded = new Mask(w, h, { x: crop.x, y: crop.y, w: crop.w, h: crop.h }, crop.data);
      for (const f of [1, 2, 4]) {
        for (const proposal of [false, true]) {
          const got = runTintRequest({ key: 1, seq: 1, counts: rle.counts, width: w, height: h, f, style: style(proposal) });
          // What Renderer.tintInto draws into a fresh tint canvas of the decoded mask.
          const { w: lw, h: lh } = levelSize(decoded.region, f);
          const expected = new Uint8ClampedArray(lw * lh * 4);
          if (f === 1) tintRect(decoded, decoded.region, style(proposal), expected);
          else tintLevelRect(decoded, f, { x: 0, y: 0, w: lw, h: lh }, style(proposal), expected);
          expect(got.region, `seed ${seed}`).toEqual(decoded.region);
          expect([got.w, got.h]).toEqual([lw, lh]);
          const differing = got.data.findIndex((v, i) => v !== expected[i]);
          expect(differing, `seed ${seed} f ${f} proposal ${proposal}`).toBe(-1);
          expect(got.data.some((v) => v !== 0)).toBe(true);
        }
      }
    }
  });

  it("answers an empty tint for an empty mask", () => {
    const rle = encodeBitmap(10, 12, new Uint8Array(120));
    const got = runTintRequest({ key: 1, seq: 1, counts: rle.counts, width: 12, height: 10, f: 4, style: style(false) });
    expect(got.region.w * got.region.h).toBe(0);
    expect(got.data.every((v) => v === 0)).toBe(true);
  });

  it("lets a lazy mask take the region the worker computed from its counts, and only from its counts", () => {
    const rle = encodeBitmap(40, 50, bitmap(50, 40, 3));
    const region = runTintRequest({ key: 1, seq: 1, counts: rle.counts, width: 50, height: 40, f: 2, style: style(false) }).region;
    const lazy = Mask.fromRle({ size: [40, 50], counts: rle.counts });
    lazy.adoptRegion("other counts", { x: 0, y: 0, w: 1, h: 1 });
    expect(lazy.pendingCounts).toBe(rle.counts);
    lazy.adoptRegion(rle.counts, region);
    expect(lazy.region).toEqual(Mask.fromRle({ size: [40, 50], counts: rle.counts }).region);
    expect(lazy.data.length).toBe(lazy.region.w * lazy.region.h); // decoding ends the lazy state
    expect(lazy.pendingCounts).toBeNull();
  });
});
