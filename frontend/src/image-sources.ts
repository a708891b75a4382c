/**
 * What the model-free assists read from the image itself: its RGBA pixels (the magic wand) and its
 * superpixels (asked of the server once; it makes them when it must). Owned here so the editor only
 * hands them to the tools.
 */
import { type Api, ApiError } from "./api";
import { Superpixels } from "./superpixels";
import type { Pixels } from "./wand";

export interface ImageSourceEvents {
  superpixelsReady(sp: Superpixels): void;
  failed(message: string): void;
}

export class ImageSources {
  /** The superpixels once loaded; `load` is the one request for them. */
  superpixels: Superpixels | null = null;
  private load: Promise<Superpixels | null> | null = null;
  private photo: HTMLImageElement | null = null;
  private pixels: Pixels | null = null;

  constructor(
    private readonly api: Api,
    private readonly image: { id: number; width: number; height: number },
    private readonly events: ImageSourceEvents,
  ) {}

  /** The decoded photo, once it is in (the pixels are read from it on first use). */
  setPhoto(photo: HTMLImageElement): void {
    this.photo = photo;
  }

  /** The superpixels if loaded; the first call starts the request. */
  superpixelsNow(): Superpixels | null {
    if (!this.load) this.load = this.fetchSuperpixels();
    return this.superpixels;
  }

  /** Resolves once the superpixels are in (null when the server refused). */
  superpixelsLoaded(): Promise<Superpixels | null> {
    this.superpixelsNow();
    return this.load as Promise<Superpixels | null>;
  }

  private async fetchSuperpixels(): Promise<Superpixels | null> {
    try {
      const sp = await Superpixels.fromDto(await this.api.superpixels(this.image.id));
      this.superpixels = sp;
      this.events.superpixelsReady(sp);
      return sp;
    } catch (err) {
      this.load = null; // a later use tries again
      this.events.failed(`Superpixels: ${err instanceof ApiError ? err.message : String(err)}`);
      return null;
    }
  }

  /** The photo's RGBA pixels, read once from the decoded image. */
  imagePixels(): Pixels | null {
    if (!this.pixels && this.photo) {
      const { width, height } = this.image;
      const canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      const g = canvas.getContext("2d", { willReadFrequently: true });
      if (!g) return null;
      g.drawImage(this.photo, 0, 0, width, height);
      this.pixels = g.getImageData(0, 0, width, height, { colorSpace: "srgb" });
    }
    return this.pixels;
  }
}
