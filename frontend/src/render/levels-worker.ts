/**
 * The photo levels worker: makes the photo's downscaled copies (the renderer's image levels, half
 * and quarter size) from its bytes and hands each back as a transferred ImageBitmap. Chromium
 * decodes a createImageBitmap on a decoder thread but resizes it on the thread that asked: from
 * the page that was a 40 ms task (half of a 4000x3000 JPEG) and a 16-22 ms one (the quarter) on
 * the main thread right after the editor opened; here they cost the main thread nothing. The bytes
 * are decoded once and each copy made from the one before: resizing from the bytes decodes them
 * again each time (100 + 82 ms of a core here, against 70 for the decode and 33 + 8 for the resizes),
 * CPU that the page's main thread would wait for on two cores.
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
      let from = await createImageBitmap(photo);
      for (const size of sizes) {
        const source = await createImageBitmap(from, { resizeWidth: size.width, resizeHeight: size.height, resizeQuality: "medium" });
        from.close();
        from = await createImageBitmap(source); // the next, smaller copy is made from this one
        scope.postMessage({ kind: "level", scale: size.scale, source }, [source]);
      }
      from.close();
      scope.postMessage({ kind: "done" }, []);
    } catch (err) {
      scope.postMessage({ kind: "failed", message: err instanceof Error ? err.message : String(err) }, []);
    }
  })();
};
