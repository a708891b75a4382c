/**
 * The REST API client: typed requests and responses, session auth with Django's CSRF header,
 * and one error type carrying the API's `{"message", "extra"}` shape.
 */
import type { CocoRle } from "./rle";

export type ClassKind = "semantic" | "instance";
export type ImageStatus = "new" | "in_progress" | "done" | "reviewed";

export interface LabelClassDto {
  id: number;
  name: string;
  color: string;
  kind: ClassKind;
  hotkey: string;
  order: number;
}

export interface ProjectDto {
  id: number;
  name: string;
  description: string;
  label_classes: LabelClassDto[];
}

export interface ImageDto {
  id: number;
  project: number;
  file_name: string;
  width: number;
  height: number;
  status: ImageStatus;
  url: string;
  thumbnail_url: string;
  sha256: string;
  prev_id: number | null;
  next_id: number | null;
  /** The most uncertain unlabeled image after pre-labeling, else the next unlabeled one. */
  next_suggested_id: number | null;
}

export interface AnnotationDto {
  id: number;
  label_class: number;
  mask: CocoRle;
  bbox: [number, number, number, number];
  area: number;
  z_order: number;
  source: "human" | "model";
  model_version: number | null;
  model_version_name: string | null;
  score: number | null;
  is_proposal: boolean;
  author: string | null;
  updated_at: string;
}

export interface AnnotationDocumentDto {
  image: number;
  version: number;
  width: number;
  height: number;
  annotations: AnnotationDto[];
  /** Only in the answer to a save: the id of each sent annotation, in the order sent. */
  saved_ids?: number[];
}

export interface AnnotationInputDto {
  id?: number;
  label_class: number;
  mask: CocoRle;
  z_order: number;
  is_proposal?: boolean;
}

export interface SaveRequestDto {
  version: number;
  annotations: AnnotationInputDto[];
}

export interface AssistResultDto {
  mask: CocoRle;
  score: number | null;
  latency_ms: number;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** An HTTP answer other than 2xx. status 0 means the request never got an answer (network). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: { [key: string]: JsonValue } = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  get isNetwork(): boolean {
    return this.status === 0 || this.status >= 500;
  }
}

export interface Api {
  project(projectId: number): Promise<ProjectDto>;
  image(imageId: number): Promise<ImageDto>;
  setImageStatus(imageId: number, status: ImageStatus): Promise<ImageDto>;
  annotations(imageId: number): Promise<AnnotationDocumentDto>;
  saveAnnotations(imageId: number, body: SaveRequestDto): Promise<AnnotationDocumentDto>;
  assist(imageId: number, box: [number, number, number, number], labelClass: number): Promise<AssistResultDto>;
}

function cookie(name: string): string {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return "";
}

export class HttpApi implements Api {
  constructor(private readonly root: string) {}

  project(projectId: number): Promise<ProjectDto> {
    return this.request<ProjectDto>("GET", `projects/${projectId}/`);
  }

  image(imageId: number): Promise<ImageDto> {
    return this.request<ImageDto>("GET", `images/${imageId}/`);
  }

  setImageStatus(imageId: number, status: ImageStatus): Promise<ImageDto> {
    return this.request<ImageDto>("PATCH", `images/${imageId}/`, { status });
  }

  annotations(imageId: number): Promise<AnnotationDocumentDto> {
    return this.request<AnnotationDocumentDto>("GET", `images/${imageId}/annotations/`);
  }

  saveAnnotations(imageId: number, body: SaveRequestDto): Promise<AnnotationDocumentDto> {
    return this.request<AnnotationDocumentDto>("PUT", `images/${imageId}/annotations/`, body);
  }

  assist(imageId: number, box: [number, number, number, number], labelClass: number): Promise<AssistResultDto> {
    return this.request<AssistResultDto>("POST", `images/${imageId}/assist/`, { box, label_class: labelClass });
  }

  private async request<T>(method: string, path: string, body?: object): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRFToken"] = cookie("csrftoken");
    let response: Response;
    try {
      response = await fetch(this.root + path, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, `Network error: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (response.ok) return (await response.json()) as T;
    let message = `${method} ${path} failed with HTTP ${response.status}`;
    let extra: { [key: string]: JsonValue } = {};
    try {
      const payload = (await response.json()) as { message?: unknown; extra?: unknown; detail?: unknown };
      if (typeof payload.message === "string") message = payload.message;
      else if (typeof payload.detail === "string") message = payload.detail;
      if (payload.extra && typeof payload.extra === "object") extra = payload.extra as { [key: string]: JsonValue };
    } catch {
      // Not JSON (a proxy error page): keep the generic message.
    }
    throw new ApiError(response.status, message, extra);
  }
}
