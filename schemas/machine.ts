// Vertex AI machine specs per step; Spot capacity is opt-in per step.
import { z } from "zod";

export const MachineSpec = z.object({
  machineType: z.string().regex(/^[a-z0-9-]+$/, "machine type like n1-standard-8"),
  acceleratorType: z
    .string()
    .regex(/^[A-Z0-9_]+$/, "accelerator type like NVIDIA_L4")
    .optional(),
  acceleratorCount: z.number().int().min(0).max(16).default(0),
  /** Run on Spot capacity; after a preemption the retry falls back to on-demand. */
  spot: z.boolean().default(false),
  bootDiskGb: z.number().int().min(10).max(65536).default(100),
  timeoutSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(6 * 3600),
});
export type MachineSpec = z.infer<typeof MachineSpec>;

export const MachineSpecs = z.object({
  prepare: MachineSpec.default({
    machineType: "n2-standard-4",
    acceleratorCount: 0,
    spot: false,
    bootDiskGb: 100,
    timeoutSeconds: 3600,
  }),
  tune: MachineSpec.default({
    machineType: "g2-standard-8",
    acceleratorType: "NVIDIA_L4",
    acceleratorCount: 1,
    spot: true,
    bootDiskGb: 100,
    timeoutSeconds: 6 * 3600,
  }),
  train: MachineSpec.default({
    machineType: "g2-standard-8",
    acceleratorType: "NVIDIA_L4",
    acceleratorCount: 1,
    spot: false,
    bootDiskGb: 100,
    timeoutSeconds: 4 * 3600,
  }),
  evaluate: MachineSpec.default({
    machineType: "g2-standard-8",
    acceleratorType: "NVIDIA_L4",
    acceleratorCount: 1,
    spot: false,
    bootDiskGb: 100,
    timeoutSeconds: 3600,
  }),
});
export type MachineSpecs = z.infer<typeof MachineSpecs>;
