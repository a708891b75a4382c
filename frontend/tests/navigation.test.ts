import { describe, expect, it } from "vitest";
import type { ImageDto } from "../src/api";
import { navigate } from "../src/navigation";

const image = { id: 5, prev_id: 4, next_id: null, next_suggested_id: 9 } as ImageDto;

function deps(saved: boolean) {
  const log: string[] = [];
  return {
    log,
    save: async () => {
      log.push("save");
      return saved;
    },
    editUrl: (id: number) => `/edit/${id}`,
    go: (url: string) => log.push(`go ${url}`),
    notify: (m: string) => log.push(`say ${m}`),
  };
}

describe("moving between images", () => {
  it("saves, then opens the neighbour or the suggested image", async () => {
    const d = deps(true);
    await navigate(image, "prev", d);
    await navigate(image, "suggested", d);
    expect(d.log).toEqual(["save", "go /edit/4", "save", "go /edit/9"]);
  });

  it("stays when the save did not reach the server", async () => {
    const d = deps(false);
    await navigate(image, "prev", d);
    expect(d.log).toEqual(["save"]);
  });

  it("says so at the end, without saving", async () => {
    const d = deps(true);
    await navigate(image, "next", d);
    expect(d.log).toEqual(["say This is the last image."]);
  });
});
