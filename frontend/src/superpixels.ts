/**
 * An image's superpixels in the browser: the server's label grids (annotations/superpixels.py),
 * decoded once, with per-segment bounds so that a lookup is one array read and painting or
 * outlining a segment costs its bounding box, never the image.
 *
 * Mapping (the server's rule): image pixel (x, y) is grid cell (floor(x / f), floor(y / f)),
 * f = `factor`, 1 for images up to 1024 px a side.
 */
import type { SuperpixelsDto } from "./api";
import { type Rect, EMPTY_RECT, intersect, isEmpty } from "./geometry";
import type { Mask } from "./mask";

export interface SuperpixelLevel {
  /** grid_h * grid_w labels, row-major. */
  labels: Uint16Array;
  segments: number;
  /** Per segment: minX, minY, maxX, maxY in grid cells (inclusive). */
  bounds: Int32Array;
}

export class Superpixels {
  private readonly outlines = new Map<string, Float32Array>();

  constructor(
    readonly width: number,
    readonly height: number,
    readonly factor: number,
    readonly gridW: number,
    readonly gridH: number,
    readonly levels: readonly SuperpixelLevel[],
  ) {}

  static async fromDto(dto: SuperpixelsDto): Promise<Superpixels> {
    const [h, w] = dto.image_size;
    const [gh, gw] = dto.grid_size;
    const levels: SuperpixelLevel[] = [];
    for (const level of dto.levels) {
      const bytes = await inflate(base64Bytes(level.labels));
      if (bytes.byteLength !== gh * gw * 2) throw new Error(`superpixel level has ${bytes.byteLength} bytes for a ${gw}x${gh} grid`);
      // Little-endian on the wire, as on every platform a browser runs on.
      const labels = new Uint16Array(bytes.buffer, bytes.byteOffset, gh * gw);
      levels.push({ labels, segments: level.segments, bounds: segmentBounds(labels, gw, level.segments) });
    }
    return new Superpixels(w, h, dto.factor, gw, gh, levels);
  }

  /** The segment under image point (x, y) at `level`, or -1 outside the image. */
  labelAt(level: number, x: number, y: number): number {
    const ix = Math.floor(x);
    const iy = Math.floor(y);
    if (ix < 0 || iy < 0 || ix >= this.width || iy >= this.height) return -1;
    const f = this.factor;
    return this.levels[level].labels[Math.floor(iy / f) * this.gridW + Math.floor(ix / f)];
  }

  /** The image pixels a segment's bounding box covers. */
  segmentRect(level: number, label: number): Rect {
    const b = this.levels[level].bounds;
    const f = this.factor;
    const r = { x: b[label * 4] * f, y: b[label * 4 + 1] * f, w: (b[label * 4 + 2] - b[label * 4] + 1) * f, h: (b[label * 4 + 3] - b[label * 4 + 1] + 1) * f };
    return intersect(r, { x: 0, y: 0, w: this.width, h: this.height });
  }

  /** Sets (1) or clears (0) every pixel of the segment in `mask`; returns the rect it touched. */
  paint(mask: Mask, level: number, label: number, value: 0 | 1): Rect {
    let rect = this.segmentRect(level, label);
    if (value === 1) mask.ensure(rect);
    else rect = intersect(rect, mask.region);
    if (isEmpty(rect)) return EMPTY_RECT;
    const labels = this.levels[level].labels;
    const f = this.factor;
    const reg = mask.region;
    const data = mask.data;
    for (let y = rect.y; y < rect.y + rect.h; y++) {
      const gridRow = Math.floor(y / f) * this.gridW;
      const row = (y - reg.y) * reg.w - reg.x;
      for (let x = rect.x; x < rect.x + rect.w; x++) {
        if (labels[gridRow + Math.floor(x / f)] === label) data[row + x] = value;
      }
    }
    return rect;
  }

  /** The pixels of one segment inside `rect` (1 where it is), for tests and the wand's kin. */
  segmentPixels(level: number, label: number, rect: Rect): Uint8Array {
    const out = new Uint8Array(rect.w * rect.h);
    for (let y = 0; y < rect.h; y++) for (let x = 0; x < rect.w; x++) out[y * rect.w + x] = this.labelAt(level, rect.x + x, rect.y + y) === label ? 1 : 0;
    return out;
  }

  /**
   * The segment's outline as line segments in image coordinates (x1, y1, x2, y2, ...): every cell
   * edge between the segment and anything else. Cached: hovering back over a segment is free.
   */
  outline(level: number, label: number): Float32Array {
    const key = `${level}:${label}`;
    const cached = this.outlines.get(key);
    if (cached) return cached;
    const { labels, bounds } = this.levels[level];
    const gw = this.gridW;
    const gh = this.gridH;
    const f = this.factor;
    const out: number[] = [];
    const [x0, y0, x1, y1] = [bounds[label * 4], bounds[label * 4 + 1], bounds[label * 4 + 2], bounds[label * 4 + 3]];
    const ex = (gx: number): number => Math.min(gx * f, this.width);
    const ey = (gy: number): number => Math.min(gy * f, this.height);
    for (let gy = y0; gy <= y1; gy++) {
      for (let gx = x0; gx <= x1; gx++) {
        const i = gy * gw + gx;
        if (labels[i] !== label) continue;
        if (gy === 0 || labels[i - gw] !== label) out.push(ex(gx), ey(gy), ex(gx + 1), ey(gy));
        if (gy === gh - 1 || labels[i + gw] !== label) out.push(ex(gx), ey(gy + 1), ex(gx + 1), ey(gy + 1));
        if (gx === 0 || labels[i - 1] !== label) out.push(ex(gx), ey(gy), ex(gx), ey(gy + 1));
        if (gx === gw - 1 || labels[i + 1] !== label) out.push(ex(gx + 1), ey(gy), ex(gx + 1), ey(gy + 1));
      }
    }
    const edges = Float32Array.from(out);
    if (this.outlines.size > 256) this.outlines.clear();
    this.outlines.set(key, edges);
    return edges;
  }
}

function segmentBounds(labels: Uint16Array, gw: number, segments: number): Int32Array {
  const b = new Int32Array(segments * 4);
  for (let s = 0; s < segments; s++) {
    b[s * 4] = b[s * 4 + 1] = 0x7fffffff;
    b[s * 4 + 2] = b[s * 4 + 3] = -1;
  }
  for (let i = 0; i < labels.length; i++) {
    const s = labels[i] * 4;
    const x = i % gw;
    const y = (i - x) / gw;
    if (x < b[s]) b[s] = x;
    if (y < b[s + 1]) b[s + 1] = y;
    if (x > b[s + 2]) b[s + 2] = x;
    if (y > b[s + 3]) b[s + 3] = y;
  }
  return b;
}

function base64Bytes(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** zlib (RFC 1950) -> bytes, through the browser's own DecompressionStream ("deflate" is zlib). */
async function inflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
