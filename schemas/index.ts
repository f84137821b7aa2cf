// The schemas' public surface: zod building blocks and the types derived from them. No I/O.
export * from "./names.ts";
export * from "./hyperparams.ts";
export * from "./machine.ts";
export * from "./config.ts";
export * from "./model-line.ts";
export * from "./review.ts";
export * from "./metrics.ts";
export * from "./mitigation.ts";
export * from "./model.ts";
export * from "./job-input.ts";
export * from "./job-spec.ts";
export * from "./run-state.ts";
export * from "./env.ts";
