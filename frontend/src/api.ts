/**
 * The REST API client: typed requests and responses, session auth with Django's CSRF header,
 * and one error type carrying the API's `{"message", "extra"}` shape.
 *
 * The DTO types are the server's serializers, generated from its OpenAPI schema into
 * generated/api-schema.ts by scripts/gen-api-types.sh (tests/test_api_types.py fails when the
 * committed file is stale), so a field renamed or retyped on the server breaks `tsc` here.
 */
import type { components, paths } from "./generated/api-schema";
import type { CocoRle } from "./rle";

type Schemas = components["schemas"];
/** The JSON body an operation takes, and the JSON it answers with `status`. */
type JsonBody<Op> = Op extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;
type JsonAnswer<Op, Status extends number> = Op extends { responses: { [S in Status]: { content: { "application/json": infer B } } } } ? B : never;

/**
 * A response as the server sends it: DRF renders every field of an output serializer, but the
 * schema marks fields that have a model default optional (one component serves requests and
 * responses), so answers are read with every field present. Field names and types stay the schema's.
 */
export type Sent<T> = T extends ReadonlyArray<infer U> ? Sent<U>[] : T extends object ? { [K in keyof T]-?: Sent<T[K]> } : T;

/** The schema types masks as free JSON; their shape is COCO compressed RLE, checked by the codec. */
type WithRle<T> = Omit<T, "mask"> & { mask: CocoRle };

export type LabelClassDto = Sent<Schemas["LabelClassOut"]>;
export type ClassKind = LabelClassDto["kind"];
export type ProjectDto = Sent<Schemas["ProjectOut"]>;
/** An image with its neighbours (`next_suggested_id`: the most uncertain unlabeled image, else the next unlabeled one). */
export type ImageDto = Sent<Schemas["ImageDetailOut"]>;
export type ImageListItemDto = Sent<Schemas["ImageOut"]>;
export type ImageStatus = ImageDto["status"];
export type AnnotationDto = WithRle<Sent<Schemas["AnnotationOut"]>>;
export type AnnotationDocumentDto = Omit<Sent<Schemas["DocumentOut"]>, "annotations"> & { annotations: AnnotationDto[] };
/** The answer to a save: the document plus the id of each sent annotation, in the order sent. */
export type SavedDocumentDto = Omit<Sent<Schemas["SavedDocumentOut"]>, "annotations"> & { annotations: AnnotationDto[] };
export type AnnotationInputDto = WithRle<Schemas["AnnotationIn"]>;
export type SaveRequestDto = Omit<Schemas["DocumentIn"], "annotations"> & { annotations: AnnotationInputDto[] };
/** One annotation of a delta save: no id = new (label_class, mask); with id, only the fields sent change. */
export type AnnotationChangeDto = Omit<Schemas["AnnotationChangeIn"], "mask"> & { mask?: CocoRle };
/** A delta save: what changed since the version read (PATCH). */
export type DeltaRequestDto = Omit<Schemas["DocumentDeltaIn"], "upsert"> & { upsert: AnnotationChangeDto[] };
/** The answer to a delta save: the new version, and the upserted annotations as stored (in the order sent). */
export type DeltaSavedDto = Omit<Sent<Schemas["DocumentDeltaOut"]>, "annotations"> & { annotations: AnnotationDto[] };
export type AssistResultDto = WithRle<Sent<Schemas["AssistOut"]>>;
export type AssistRequestDto = JsonBody<paths["/api/images/{image_id}/assist/"]["post"]>;
export type AssistClickDto = Schemas["AssistClickIn"];
export type AssistMethod = NonNullable<AssistRequestDto["method"]>;
export type SuperpixelsDto = Sent<Schemas["SuperpixelsOut"]>;
export type JobDto = Sent<Schemas["JobOut"]>;
export type JobStatus = JobDto["status"];
/** One page of the job list ({count, next, previous, results}). */
export type JobPageDto = Sent<JsonAnswer<paths["/api/projects/{project_id}/jobs/"]["get"], 200>>;
export type ImportResultDto = Sent<Schemas["ImportResultOut"]>;
// Job requests by endpoint: their serializers' names are the server's business.
export type PrelabelRequestDto = JsonBody<paths["/api/projects/{project_id}/prelabel/"]["post"]>;
export type TrainRequestDto = JsonBody<paths["/api/projects/{project_id}/train/"]["post"]>;
export type ExportRequestDto = JsonBody<paths["/api/projects/{project_id}/exports/"]["post"]>;

// Quality control and history (annotations/api/quality_views.py).
export type RevisionDto = Sent<Schemas["RevisionOut"]>;
export type RevisionDetailDto = Omit<Sent<Schemas["RevisionDetailOut"]>, "annotations"> & {
  annotations: WithRle<Sent<Schemas["RevisionAnnotationOut"]>>[];
};
export type GroundTruthSampleDto = Sent<Schemas["GroundTruthSampleOut"]>;
/** Which of an image's documents the editor edits: the annotators' work, or its ground truth. */
export type DocumentSet = "work" | "ground_truth";

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

/** What the editor asks of the server. */
export interface Api {
  project(projectId: number): Promise<ProjectDto>;
  image(imageId: number): Promise<ImageDto>;
  setImageStatus(imageId: number, status: ImageStatus): Promise<ImageListItemDto>;
  annotations(imageId: number): Promise<AnnotationDocumentDto>;
  /** Replaces the whole document (the answer to 409 "keep mine"). */
  saveAnnotations(imageId: number, body: SaveRequestDto): Promise<SavedDocumentDto>;
  /** Sends only what changed since the version read. */
  saveDelta(imageId: number, body: DeltaRequestDto): Promise<DeltaSavedDto>;
  /** Box [+ clicks] -> mask: GrabCut, or the project's model (`method`). */
  assist(imageId: number, body: AssistRequestDto): Promise<AssistResultDto>;
  superpixels(imageId: number): Promise<SuperpixelsDto>;
}

/** What the project page asks of the server: uploads, the three kinds of job, and the job list. */
export interface ProjectApi {
  uploadImages(projectId: number, files: FormData): Promise<ImportResultDto>;
  prelabel(projectId: number, body: PrelabelRequestDto): Promise<JobDto>;
  train(projectId: number, body: TrainRequestDto): Promise<JobDto>;
  exportDataset(projectId: number, body: ExportRequestDto): Promise<JobDto>;
  jobs(projectId: number, pageSize: number): Promise<JobPageDto>;
  cancelJob(jobId: number): Promise<JobDto>;
}

function cookie(name: string): string {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return "";
}

export class HttpApi implements Api, ProjectApi {
  constructor(
    private readonly root: string,
    private readonly documentSet: DocumentSet = "work",
  ) {}

  private get setQuery(): string {
    return this.documentSet === "ground_truth" ? "?set=ground_truth" : "";
  }

  project(projectId: number): Promise<ProjectDto> {
    return this.request<ProjectDto>("GET", `projects/${projectId}/`);
  }

  image(imageId: number): Promise<ImageDto> {
    return this.request<ImageDto>("GET", `images/${imageId}/`);
  }

  setImageStatus(imageId: number, status: ImageStatus): Promise<ImageListItemDto> {
    return this.request<ImageListItemDto>("PATCH", `images/${imageId}/`, { status });
  }

  annotations(imageId: number): Promise<AnnotationDocumentDto> {
    // The server tags the document with its version (ETag) and asks for revalidation: the browser
    // keeps the last copy and a reopened, unchanged document comes back as a 304 without a body.
    return this.request<AnnotationDocumentDto>("GET", `images/${imageId}/annotations/${this.setQuery}`, undefined, "no-cache");
  }

  saveAnnotations(imageId: number, body: SaveRequestDto): Promise<SavedDocumentDto> {
    return this.request<SavedDocumentDto>("PUT", `images/${imageId}/annotations/${this.setQuery}`, body);
  }

  saveDelta(imageId: number, body: DeltaRequestDto): Promise<DeltaSavedDto> {
    return this.request<DeltaSavedDto>("PATCH", `images/${imageId}/annotations/${this.setQuery}`, body);
  }

  assist(imageId: number, body: AssistRequestDto): Promise<AssistResultDto> {
    return this.request<AssistResultDto>("POST", `images/${imageId}/assist/`, body);
  }

  superpixels(imageId: number): Promise<SuperpixelsDto> {
    return this.request<SuperpixelsDto>("GET", `images/${imageId}/superpixels/`);
  }

  uploadImages(projectId: number, files: FormData): Promise<ImportResultDto> {
    return this.request<ImportResultDto>("POST", `projects/${projectId}/images/`, files);
  }

  prelabel(projectId: number, body: PrelabelRequestDto): Promise<JobDto> {
    return this.request<JobDto>("POST", `projects/${projectId}/prelabel/`, body);
  }

  train(projectId: number, body: TrainRequestDto): Promise<JobDto> {
    return this.request<JobDto>("POST", `projects/${projectId}/train/`, body);
  }

  exportDataset(projectId: number, body: ExportRequestDto): Promise<JobDto> {
    return this.request<JobDto>("POST", `projects/${projectId}/exports/`, body);
  }

  jobs(projectId: number, pageSize: number): Promise<JobPageDto> {
    return this.request<JobPageDto>("GET", `projects/${projectId}/jobs/?page_size=${pageSize}`);
  }

  cancelJob(jobId: number): Promise<JobDto> {
    return this.request<JobDto>("POST", `jobs/${jobId}/cancel/`, {});
  }

  /** Any other API call, with the same credentials and error shape (the team pages' clients use it). */
  send<T>(method: string, path: string, body?: object): Promise<T> {
    return this.request<T>(method, path, body);
  }

  /** One page (1-based) of the project's jobs, newest first. */
  jobsPage(projectId: number, page: number, pageSize: number): Promise<JobPageDto> {
    return this.request<JobPageDto>("GET", `projects/${projectId}/jobs/?page=${page}&page_size=${pageSize}`);
  }

  /** The revisions of the image's document (of the set this client edits), newest first. */
  revisions(imageId: number): Promise<RevisionDto[]> {
    return this.request<RevisionDto[]>("GET", `images/${imageId}/revisions/${this.setQuery}`);
  }

  revision(imageId: number, revisionId: number): Promise<RevisionDetailDto> {
    return this.request<RevisionDetailDto>("GET", `images/${imageId}/revisions/${revisionId}/`);
  }

  /** Restore a revision as a new version on top of `version` (409 when that is stale). */
  restoreRevision(imageId: number, revisionId: number, version: number): Promise<AnnotationDocumentDto> {
    return this.request<AnnotationDocumentDto>("POST", `images/${imageId}/revisions/${revisionId}/restore/`, { version });
  }

  markGroundTruth(projectId: number, percent: number, seed: number | null): Promise<GroundTruthSampleDto> {
    return this.request<GroundTruthSampleDto>("POST", `projects/${projectId}/ground-truth/`, seed === null ? { percent } : { percent, seed });
  }

  private async request<T>(method: string, path: string, body?: object, cache?: RequestCache): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    const isForm = body instanceof FormData;
    // A multipart body sets its own Content-Type (with the boundary).
    if (body !== undefined && !isForm) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRFToken"] = cookie("csrftoken");
    let response: Response;
    try {
      response = await fetch(this.root + path, {
        method,
        headers,
        credentials: "same-origin",
        cache,
        body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, `Network error: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (response.status === 204) return undefined as T;
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
