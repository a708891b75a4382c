import { describe, expect, it } from "vitest";
import { buildPhotoLevels, levelSizes } from "../src/render/photo-levels";

describe("photo levels", () => {
  it("makes a half and a quarter copy of a large photo", () => {
    expect(levelSizes(4000, 3000)).toEqual([
      { scale: 0.5, width: 2000, height: 1500 },
      { scale: 0.25, width: 1000, height: 750 },
    ]);
  });

  it("stops before a copy with a side under 256 pixels", () => {
    expect(levelSizes(1200, 800)).toEqual([{ scale: 0.5, width: 600, height: 400 }]);
    expect(levelSizes(600, 400)).toEqual([]);
  });

  it("answers none and calls back nothing where there is no createImageBitmap", async () => {
    const made: number[] = [];
    const photo = new Blob([new Uint8Array(10)]);
    expect(await buildPhotoLevels(photo, 4000, 3000, (scale) => made.push(scale))).toBe("none");
    expect(made).toEqual([]);
  });
});
