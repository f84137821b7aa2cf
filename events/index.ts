// The event catalogue's public surface.
export * from "./envelope.ts";
export * from "./catalogue.ts";
export * from "./topics.ts";
export * from "./codec.ts";
export * from "./job-state.ts";
