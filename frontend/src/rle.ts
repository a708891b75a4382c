/**
 * COCO compressed RLE codec, byte-identical to pycocotools (maskApi.c rleToString / rleFrString).
 *
 * Owns: run-length counts <-> the ASCII "counts" string, and counts <-> the editor's
 * bbox-cropped bitmaps. Runs are column-major (Fortran order) and start with a zero-run.
 * Decoding works in time proportional to the number of runs plus the foreground pixels,
 * never the image size: an image with 100 small instances on 4000x3000 must open fast.
 */

export interface CocoRle {
  size: [number, number]; // [height, width]
  counts: string;
}

/** Encodes run lengths the way pycocotools does: 5-bit chunks, delta against counts[i-2] for i > 2. */
export function countsToString(counts: ArrayLike<number>): string {
  const out: number[] = [];
  for (let i = 0; i < counts.length; i++) {
    // int32 arithmetic is enough: counts are bounded by h*w < 2^31.
    let x = counts[i] | 0;
    if (i > 2) x = (x - (counts[i - 2] | 0)) | 0;
    let more = true;
    while (more) {
      let c = x & 0x1f;
      x >>= 5; // arithmetic shift keeps the sign, as in C on a signed long
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      out.push(c + 48);
    }
  }
  let s = "";
  const CHUNK = 8192;
  for (let i = 0; i < out.length; i += CHUNK) {
    s += String.fromCharCode.apply(null, out.slice(i, i + CHUNK));
  }
  return s;
}

/** Inverse of countsToString. Throws on characters outside the alphabet or a truncated value. */
export function stringToCounts(s: string): Uint32Array {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new Error("RLE string ends inside a value");
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new Error(`RLE string has an invalid character at ${p}`);
      // Multiplication instead of << because 5*k may exceed 31 for long values.
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= 2 ** (5 * k);
    }
    const m = counts.length;
    if (m > 2) x += counts[m - 2];
    if (x < 0) throw new Error("RLE string decodes to a negative run");
    counts.push(x);
  }
  return Uint32Array.from(counts);
}

/** Appends runs while merging equal values, producing canonical COCO counts (leading zero-run). */
export class RunBuilder {
  private readonly counts: number[] = [];
  private value = 0;
  private run = 0;

  push(value: 0 | 1, n: number): void {
    if (n <= 0) return;
    if (value === this.value) {
      this.run += n;
    } else {
      this.counts.push(this.run);
      this.value = value;
      this.run = n;
    }
  }

  finish(): number[] {
    // pycocotools always emits at least one count (a zero-run, possibly of length h*w).
    const out = this.counts.slice();
    out.push(this.run);
    return out;
  }
}

/**
 * Counts for a full h x w image whose foreground lives in a row-major crop
 * `data` (cw x ch) placed at (cx, cy). Pixels outside the crop are background.
 */
export function cropToCounts(
  height: number,
  width: number,
  cx: number,
  cy: number,
  cw: number,
  ch: number,
  data: Uint8Array,
): number[] {
  const b = new RunBuilder();
  const x1 = Math.min(width, cx + cw);
  const y1 = Math.min(height, cy + ch);
  const xs = Math.max(0, cx);
  const ys = Math.max(0, cy);
  if (x1 <= xs || y1 <= ys) {
    b.push(0, height * width);
    return b.finish();
  }
  b.push(0, xs * height);
  for (let x = xs; x < x1; x++) {
    b.push(0, ys);
    let i = (ys - cy) * cw + (x - cx);
    // Scan the column, emitting whole runs rather than pixels.
    let y = ys;
    while (y < y1) {
      const v: 0 | 1 = data[i] ? 1 : 0;
      let n = 0;
      while (y < y1 && (data[i] ? 1 : 0) === v) {
        n++;
        y++;
        i += cw;
      }
      b.push(v, n);
    }
    b.push(0, height - y1);
  }
  b.push(0, (width - x1) * height);
  return b.finish();
}

export interface DecodedCrop {
  x: number;
  y: number;
  w: number;
  h: number;
  data: Uint8Array; // row-major, w*h, 1 = foreground
}

/** The tightest crop holding the foreground, from the runs alone (w = h = 0 when empty); checks the total. */
export function countsBounds(height: number, width: number, counts: ArrayLike<number>): { x: number; y: number; w: number; h: number } {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  if (total !== height * width) {
    throw new Error(`RLE covers ${total} pixels but the mask is ${height}x${width} = ${height * width}`);
  }
  let minX = Infinity;
  let maxX = -1;
  let minY = Infinity;
  let maxY = -1;
  let p = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i];
    if (i & 1 && n > 0) {
      const c0 = Math.floor(p / height);
      const r0 = p - c0 * height;
      const last = p + n - 1;
      const c1 = Math.floor(last / height);
      const r1 = last - c1 * height;
      if (c0 < minX) minX = c0;
      if (c1 > maxX) maxX = c1;
      if (c0 === c1) {
        if (r0 < minY) minY = r0;
        if (r1 > maxY) maxY = r1;
      } else {
        minY = 0;
        maxY = height - 1;
      }
    }
    p += n;
  }
  if (maxX < 0) return { x: 0, y: 0, w: 0, h: 0 };
  return { x: minX, y: minY, w: maxX - minX + 1, h: maxY - minY + 1 };
}

/**
 * The crop `region` sampled at one pixel per f x f block, straight from the runs (no full
 * decode): level pixel (lx, ly) is the crop's pixel (min(w-1, lx*f + f/2), min(h-1, ly*f + f/2)),
 * the sampling the renderer's coarse tint uses (render/tint.ts). Costs the runs plus 1/f² of the
 * crop, which is what lets a 1,000-mask document open without decoding every mask.
 */
export function countsToLevel(
  height: number, counts: ArrayLike<number>, region: { x: number; y: number; w: number; h: number }, f: number,
): Uint8Array {
  const lw = Math.ceil(region.w / f);
  const lh = Math.ceil(region.h / f);
  const out = new Uint8Array(lw * lh);
  if (lw === 0 || lh === 0) return out;
  const half = f >> 1;
  // Level indices from which on the sample is clamped to the last column / row of the crop.
  const lxClamp = Math.max(0, Math.ceil((region.w - 1 - half) / f));
  const lyClamp = Math.max(0, Math.ceil((region.h - 1 - half) / f));
  const markRows = (lx: number, a: number, b: number): void => {
    // rows a..b (crop-relative) are set in the column that level column lx samples
    const from = Math.max(0, Math.ceil((a - half) / f));
    const to = Math.min(lyClamp - 1, Math.floor((b - half) / f));
    for (let ly = from; ly <= to; ly++) out[ly * lw + lx] = 1;
    if (b >= region.h - 1) for (let ly = lyClamp; ly < lh; ly++) out[ly * lw + lx] = 1;
  };
  let p = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i];
    if (i & 1 && n > 0) {
      let col = Math.floor(p / height);
      let row = p - col * height;
      let left = n;
      while (left > 0) {
        const take = Math.min(left, height - row);
        const cx = col - region.x;
        const a = row - region.y;
        const b = a + take - 1;
        if (cx === region.w - 1) {
          for (let lx = lxClamp; lx < lw; lx++) markRows(lx, a, b);
        } else if (cx >= half && (cx - half) % f === 0) {
          markRows((cx - half) / f, a, b);
        }
        left -= take;
        row = 0;
        col++;
      }
    }
    p += n;
  }
  return out;
}

/** Decodes counts into the tightest crop holding the foreground (w = h = 0 when empty). */
export function countsToCrop(height: number, width: number, counts: ArrayLike<number>): DecodedCrop {
  const bounds = countsBounds(height, width, counts);
  if (bounds.w === 0) return { ...bounds, data: new Uint8Array(0) };
  const { x: minX, y: minY, w, h } = bounds;
  const data = new Uint8Array(w * h);
  let p = 0;
  // Write the foreground runs, walking down columns.
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i];
    if (i & 1 && n > 0) {
      let col = Math.floor(p / height);
      let row = p - col * height;
      let left = n;
      while (left > 0) {
        const take = Math.min(left, height - row);
        let idx = (row - minY) * w + (col - minX);
        for (let k = 0; k < take; k++) {
          data[idx] = 1;
          idx += w;
        }
        left -= take;
        row = 0;
        col++;
      }
    }
    p += n;
  }
  return { x: minX, y: minY, w, h, data };
}

/** Full-image row-major bitmap -> COCO RLE (used by tests and small masks). */
export function encodeBitmap(height: number, width: number, rowMajor: Uint8Array): CocoRle {
  return { size: [height, width], counts: countsToString(cropToCounts(height, width, 0, 0, width, height, rowMajor)) };
}

/** COCO RLE -> full-image row-major bitmap. */
export function decodeToBitmap(rle: CocoRle): Uint8Array {
  const [height, width] = rle.size;
  const crop = countsToCrop(height, width, stringToCounts(rle.counts));
  const out = new Uint8Array(height * width);
  for (let y = 0; y < crop.h; y++) {
    out.set(crop.data.subarray(y * crop.w, (y + 1) * crop.w), (crop.y + y) * width + crop.x);
  }
  return out;
}
