import { describe, expect, it } from "vitest";
import { colourRegion } from "../src/wand";

function image(w: number, h: number, colour: (x: number, y: number) => [number, number, number]) {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = colour(x, y);
      data.set([r, g, b, 255], (y * w + x) * 4);
    }
  }
  return { width: w, height: h, data };
}

describe("colourRegion", () => {
  // Two red squares apart on a grey background; the right one slightly darker.
  const img = image(10, 4, (x) => (x < 3 ? [200, 0, 0] : x >= 6 && x < 9 ? [190, 5, 5] : [100, 100, 100]));

  it("takes the connected pixels within the tolerance of the clicked colour", () => {
    const r = colourRegion(img, 1.5, 1.5, 12, true);
    expect(r?.rect).toEqual({ x: 0, y: 0, w: 3, h: 4 });
    expect(r?.pixels.every((v) => v === 1)).toBe(true);
  });

  it("with global on, takes every such pixel in the image", () => {
    const r = colourRegion(img, 1.5, 1.5, 12, false);
    expect(r?.rect).toEqual({ x: 0, y: 0, w: 9, h: 4 });
    expect(Array.from(r!.pixels.slice(0, 9))).toEqual([1, 1, 1, 0, 0, 0, 1, 1, 1]);
  });

  it("counts a channel difference equal to the tolerance in, one more out", () => {
    expect(colourRegion(img, 1, 1, 10, false)!.rect.w).toBe(9);
    expect(colourRegion(img, 1, 1, 9, false)!.rect.w).toBe(3);
  });

  it("answers nothing outside the image and fills 1024x768 in well under 30 ms", () => {
    expect(colourRegion(img, -1, 0, 10, true)).toBeNull();
    const big = image(1024, 768, (x, y) => ((x - 512) ** 2 + (y - 384) ** 2 < 300 ** 2 ? [200, 30, 30] : [20, 30, 200]));
    // The median of five after a warm-up: the target is per click in a page that has run a while.
    colourRegion(big, 512, 384, 20, true);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      colourRegion(big, 512, 384, 20, true);
      times.push(performance.now() - t0);
    }
    expect(times.sort((a, b) => a - b)[2]).toBeLessThan(30);
    const r = colourRegion(big, 512, 384, 20, true);
    expect(r?.rect).toEqual({ x: 213, y: 85, w: 599, h: 599 });
  });
});
