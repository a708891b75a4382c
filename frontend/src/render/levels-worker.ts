/**
 * The photo levels worker: makes the photo's downscaled copies (the renderer's image levels, half
 * and quarter size) from its bytes and hands each back as a transferred ImageBitmap. Chromium
 * decodes a createImageBitmap on a decoder thread but resizes it on the thread that asked: from
 * the page that was a 40 ms task (half of a 4000x3000 JPEG) and a 16-22 ms one (the quarter)
 * on the main thread right after the editor opened; here they cost the main thread nothing.
 */
import type { LevelsAnswer, LevelsRequest } from "./photo-levels";

interface WorkerScope {
  onmessage: ((event: MessageEvent<LevelsRequest>) => void) | null;
  postMessage(message: LevelsAnswer, transfer: Transferable[]): void;
}

const scope = self as unknown as WorkerScope;

scope.onmessage = (event) => {
  const { photo, sizes } = event.data;
  void (async () => {
    try {
      for (const size of sizes) {
        const source = await createImageBitmap(photo, { resizeWidth: size.width, resizeHeight: size.height, resizeQuality: "medium" });
        scope.postMessage({ kind: "level", scale: size.scale, source }, [source]);
      }
      scope.postMessage({ kind: "done" }, []);
    } catch (err) {
      scope.postMessage({ kind: "failed", message: err instanceof Error ? err.message : String(err) }, []);
    }
  })();
};
