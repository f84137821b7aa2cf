// Google Cloud's naming rules as validators: each rule accepts what the cloud accepts and names what it rejects.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkName, InvalidNameError, nameProblem, type NameKind } from "../../deploy/naming-rules.ts";

const cases: Record<NameKind, { ok: string[]; bad: Array<[string, RegExp]> }> = {
  topic: {
    ok: ["run-started", "Run.Started~v1+%", "a".repeat(255)],
    bad: [
      ["ab", /3-255/],
      ["1topic", /start with a letter/],
      ["goog-topic", /goog/],
      ["has space", /only letters/],
      ["a".repeat(256), /3-255/],
    ],
  },
  subscription: { ok: ["run-started-to-advance-run"], bad: [["googsub", /goog/]] },
  "service-account": {
    ok: ["sp-fn-retrigger-run", "abcdef", "a".repeat(30)],
    bad: [
      ["short", /6-30/],
      ["a".repeat(31), /6-30/],
      ["sp-fn-", /\[a-z\]/],
      ["Sp-upper", /\[a-z\]/],
      ["9starts-digit", /\[a-z\]/],
    ],
  },
  bucket: {
    ok: ["sp-sample-project-reviews", "my_bucket.example.com", "abc"],
    bad: [
      ["ab", /3-63/],
      ["a".repeat(64), /3-63/],
      ["-dash-first", /start and end/],
      ["Upper", /lower-case/],
      ["192.168.5.4", /IP address/],
      ["goog-bucket", /goog/],
      ["my-g00gle-bucket", /google/],
      ["a..b", /1-63/],
    ],
  },
  function: {
    ok: ["start-run", "a"],
    bad: [
      ["Start-run", /lower-case/],
      ["run-", /end with/],
      ["a".repeat(64), /1-63/],
    ],
  },
  repository: {
    ok: ["sentiment-pipeline"],
    bad: [["sentiment_pipeline", /lower-case letters, digits and '-'/]],
  },
  sink: {
    ok: ["sp-vertex-job-states", "Sink_1.v2"],
    bad: [
      ["_sink", /start with a letter or digit/],
      ["a".repeat(101), /1-100/],
    ],
  },
  trigger: { ok: ["start-run-uploads"], bad: [["1trigger", /start with a letter/]] },
  "label-key": { ok: ["sp-source", "app"], bad: [["App", /lower-case/]] },
  "label-value": { ok: ["", "0123abcd", "sentiment-pipeline"], bad: [["Value", /lower-case/]] },
};

describe("Google Cloud naming rules", () => {
  for (const [kind, { ok, bad }] of Object.entries(cases) as Array<[NameKind, (typeof cases)[NameKind]]>) {
    it(`accepts valid ${kind} names and explains the rejected ones`, () => {
      for (const name of ok) expect(nameProblem(kind, name), name).toBeNull();
      for (const [name, why] of bad) expect(nameProblem(kind, name), name).toMatch(why);
    });
  }

  it("accepts every service account id made of a letter, 4-28 of [a-z0-9-] and a letter or digit", () => {
    const inner = fc.string({
      unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-"),
      minLength: 4,
      maxLength: 28,
    });
    const edge = fc.constantFrom(..."abcxyz019");
    fc.assert(
      fc.property(
        fc.constantFrom(..."abcxyz"),
        inner,
        edge,
        (a, b, c) => nameProblem("service-account", a + b + c) === null,
      ),
    );
  });

  it("throws an error naming the kind, the name and the rule", () => {
    expect(() => checkName("service-account", "dev-staging-sp-fn-retrigger-run")).toThrow(InvalidNameError);
    expect(() => checkName("service-account", "dev-staging-sp-fn-retrigger-run")).toThrow(
      /invalid service-account name "dev-staging-sp-fn-retrigger-run": must be 6-30 characters long \(is 31\)/,
    );
    expect(checkName("topic", "run-started")).toBe("run-started");
  });
});
