/**
 * The photo's downscaled copies (half and quarter size) that the renderer draws at low zoom, so a
 * frame at fit does not downscale 12 MP: made by the levels worker (levels-worker.ts) off the main
 * thread (the bytes decoded there once, each copy made from the one before), each handed over as
 * soon as it is made; on the main thread only where workers are missing or the worker failed (a
 * createImageBitmap of the bytes per copy, each resize a main-thread task). The photo itself is
 * decoded by the page's createImageBitmap (Chromium's decoder thread): decoded in this worker it
 * came 130-230 ms later on the busy 2-core machine.
 */

export interface LevelSize {
  scale: number;
  width: number;
  height: number;
}

export interface LevelsRequest {
  photo: Blob;
  sizes: LevelSize[];
}

export type LevelsAnswer =
  | { kind: "level"; scale: number; source: ImageBitmap }
  | { kind: "done" }
  | { kind: "failed"; message: string };

/** Where the levels were made ("none": the photo is too small for any, or no createImageBitmap). */
export type LevelsMaker = "worker" | "main" | "none";

/** Half and quarter size, while a side stays at least 256 pixels. */
export function levelSizes(width: number, height: number): LevelSize[] {
  const out: LevelSize[] = [];
  for (const scale of [0.5, 0.25]) {
    const w = Math.round(width * scale);
    const h = Math.round(height * scale);
    if (w < 256 || h < 256) break;
    out.push({ scale, width: w, height: h });
  }
  return out;
}

async function onMainThread(photo: Blob, sizes: LevelSize[], onLevel: (scale: number, source: ImageBitmap) => void): Promise<void> {
  for (const size of sizes) {
    onLevel(size.scale, await createImageBitmap(photo, { resizeWidth: size.width, resizeHeight: size.height, resizeQuality: "medium" }));
  }
}

function inWorker(photo: Blob, sizes: LevelSize[], onLevel: (scale: number, source: ImageBitmap) => void): Promise<boolean> {
  let worker: Worker;
  try {
    worker = new Worker(new URL("./levels-worker.ts", import.meta.url), { type: "module" });
  } catch {
    return Promise.resolve(false); // e.g. a CSP without worker-src for our origin
  }
  return new Promise<boolean>((resolve) => {
    let got = 0;
    const end = (ok: boolean): void => {
      worker.terminate();
      resolve(ok);
    };
    worker.onmessage = (e: MessageEvent<LevelsAnswer>) => {
      const answer = e.data;
      if (answer.kind === "level") {
        got++;
        onLevel(answer.scale, answer.source);
      } else end(answer.kind === "done" || got === sizes.length);
    };
    worker.onerror = () => end(false);
    worker.postMessage({ photo, sizes } satisfies LevelsRequest);
  });
}

/** Makes the levels of `photo` (its bytes), calling `onLevel` with each; resolves with where they were made. */
export async function buildPhotoLevels(
  photo: Blob,
  width: number,
  height: number,
  onLevel: (scale: number, source: ImageBitmap) => void,
): Promise<LevelsMaker> {
  const sizes = levelSizes(width, height);
  if (sizes.length === 0 || typeof createImageBitmap !== "function") return "none";
  const made = new Set<number>();
  const keep = (scale: number, source: ImageBitmap): void => {
    made.add(scale);
    onLevel(scale, source);
  };
  if (typeof Worker === "function" && (await inWorker(photo, sizes, keep))) return "worker";
  await onMainThread(photo, sizes.filter((s) => !made.has(s.scale)), keep);
  return "main";
}
