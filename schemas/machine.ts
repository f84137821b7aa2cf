// Vertex AI machine specs per step; Spot capacity is opt-in per step; training may span several replicas and GPUs.
import { z } from "zod";

export const MachineSpec = z.object({
  machineType: z.string().regex(/^[a-z0-9-]+$/, "machine type like n1-standard-8"),
  acceleratorType: z
    .string()
    .regex(/^[A-Z0-9_]+$/, "accelerator type like NVIDIA_L4")
    .optional(),
  /** GPUs per replica: the trainer runs one data-parallel process per GPU (torchrun --nproc-per-node). */
  acceleratorCount: z.number().int().min(0).max(16).default(0),
  /**
   * Machines the step runs on. Above 1 (training only) the job gets Vertex's two worker pools: the chief in pool 0
   * and replicaCount - 1 workers in pool 1, all training data-parallel (docs/deploy.md, multi-GPU training).
   */
  replicaCount: z.number().int().min(1).max(64).default(1),
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

/** Steps whose job is one process on one machine: only training is data-parallel. */
const SINGLE_REPLICA_STEPS = ["prepare", "tune", "evaluate"] as const;

export const MachineSpecs = z
  .object({
    prepare: MachineSpec.default({
      machineType: "n2-standard-4",
      acceleratorCount: 0,
      spot: false,
      bootDiskGb: 100,
      timeoutSeconds: 3600,
      replicaCount: 1,
    }),
    tune: MachineSpec.default({
      machineType: "g2-standard-8",
      acceleratorType: "NVIDIA_L4",
      acceleratorCount: 1,
      spot: true,
      bootDiskGb: 100,
      timeoutSeconds: 6 * 3600,
      replicaCount: 1,
    }),
    train: MachineSpec.default({
      machineType: "g2-standard-8",
      acceleratorType: "NVIDIA_L4",
      acceleratorCount: 1,
      spot: false,
      bootDiskGb: 100,
      timeoutSeconds: 4 * 3600,
      replicaCount: 1,
    }),
    evaluate: MachineSpec.default({
      machineType: "g2-standard-8",
      acceleratorType: "NVIDIA_L4",
      acceleratorCount: 1,
      spot: false,
      bootDiskGb: 100,
      timeoutSeconds: 3600,
      replicaCount: 1,
    }),
  })
  .superRefine((specs, ctx) => {
    for (const step of SINGLE_REPLICA_STEPS)
      if (specs[step].replicaCount !== 1)
        ctx.addIssue({
          code: "custom",
          path: [step, "replicaCount"],
          message: `machines.${step}.replicaCount must be 1: only training runs data-parallel over several replicas (machines.train.replicaCount)`,
        });
  });
export type MachineSpecs = z.infer<typeof MachineSpecs>;
