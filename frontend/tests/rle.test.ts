import { describe, expect, it } from "vitest";
import { countsToCrop, countsToString, decodeToBitmap, encodeBitmap, stringToCounts } from "../src/rle";
import vectors from "./vectors/rle_vectors.json";

interface Vector {
  name: string;
  size: [number, number];
  bits: string;
  area: number;
  counts: string;
}

function unpack(bits: string, n: number): Uint8Array {
  const bytes = Uint8Array.from(atob(bits), (c) => c.charCodeAt(0));
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (bytes[i >> 3] >> (7 - (i & 7))) & 1;
  return out;
}

describe("COCO RLE codec against pycocotools vectors", () => {
  for (const v of vectors as Vector[]) {
    it(`encodes ${v.name} byte-identically`, () => {
      const [h, w] = v.size;
      const bitmap = unpack(v.bits, h * w);
      expect(encodeBitmap(h, w, bitmap).counts).toBe(v.counts);
    });
    it(`decodes ${v.name} pixel-exactly`, () => {
      const [h, w] = v.size;
      const bitmap = unpack(v.bits, h * w);
      const decoded = decodeToBitmap({ size: [h, w], counts: v.counts });
      expect(decoded).toEqual(bitmap);
      const crop = countsToCrop(h, w, stringToCounts(v.counts));
      let area = 0;
      for (const px of crop.data) area += px;
      expect(area).toBe(v.area);
    });
  }

  it("round-trips large counts and negative deltas", () => {
    const counts = [0, 5_000_000, 3, 12_000_000, 1, 7, 2 ** 30];
    expect(Array.from(stringToCounts(countsToString(counts)))).toEqual(counts);
  });

  it("rejects an RLE whose runs do not cover the image", () => {
    expect(() => countsToCrop(4, 4, [3, 2])).toThrow(/covers 5 pixels/);
  });

  it("rejects characters outside the alphabet", () => {
    expect(() => stringToCounts("0~")).toThrow(/invalid character/);
  });
});
