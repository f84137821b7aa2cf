// What a step needs from earlier steps before it can launch: a control-plane rule the decision core applies.
import type { RunState } from "../../schemas/run-state.ts";
import type { JobStep } from "../../schemas/names.ts";

/** What a step needs from earlier steps before it can run; null when it has it all. */
export function missingPrerequisite(state: RunState, step: JobStep): string | null {
  const a = state.artifacts;
  switch (step) {
    case "prepare":
      return null;
    case "tune":
      return a.prepared ? null : "the run has no prepared data";
    case "train":
      if (!a.prepared) return "the run has no prepared data";
      return a.tuning ? null : "the run has no tuning result";
    case "evaluate":
      if (!a.prepared) return "the run has no prepared data";
      return a.training ? null : "the run has no trained model";
  }
}
