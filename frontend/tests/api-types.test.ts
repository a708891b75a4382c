import { describe, expectTypeOf, it } from "vitest";
import type { ExportRequestDto, ImageDto, JobPageDto, PrelabelRequestDto, SavedDocumentDto, TrainRequestDto } from "../src/api";

// Checked by tsc (npm run build): a DTO that the generated schema no longer yields would turn
// into `never` here instead of failing where it is used.
describe("the API types generated from the schema", () => {
  it("name every request and answer the client uses", () => {
    expectTypeOf<PrelabelRequestDto>().not.toBeNever();
    expectTypeOf<TrainRequestDto>().not.toBeNever();
    expectTypeOf<ExportRequestDto>().not.toBeNever();
    expectTypeOf<JobPageDto["results"]>().not.toBeNever();
    expectTypeOf<SavedDocumentDto["saved_ids"]>().toEqualTypeOf<number[]>();
    expectTypeOf<ImageDto["thumbnail_url"]>().toEqualTypeOf<string | null>();
  });
});
