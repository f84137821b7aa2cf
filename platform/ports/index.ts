// The ports that functions, jobs and serving depend on; their adapters are in platform/gcp and platform/local.
export * from "./logger.ts";
export * from "./clock.ts";
export * from "./event-bus.ts";
export * from "./object-store.ts";
export * from "./run-ledger.ts";
export * from "./job-launcher.ts";
export * from "./model-registry.ts";
export * from "./dead-letters.ts";
