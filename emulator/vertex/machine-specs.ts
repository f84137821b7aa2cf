// The machine types Vertex AI custom training offers and the accelerators each takes, so the stand-in refuses what Vertex refuses.
import { invalid } from "./resources.ts";

/**
 * From "Configure compute resources for custom training" (https://cloud.google.com/vertex-ai/docs/training/configure-compute):
 * general-purpose N1 machines take the older NVIDIA GPUs in counts of 1, 2, 4 (or 8); accelerator-optimized A2, A3 and
 * G2 machines come with their GPUs built in, in the count the name gives (g2-standard-24 has 2 L4s); N2, E2, C2 and
 * the other general-purpose families take none. This is the subset the stand-in knows; a type outside it is refused
 * as unknown, not let through.
 */
const N1_SIZES: Record<string, readonly number[]> = {
  standard: [2, 4, 8, 16, 32, 64, 96],
  highmem: [2, 4, 8, 16, 32, 64, 96],
  highcpu: [4, 8, 16, 32, 64, 96],
};
const N1_GPUS: Record<string, readonly number[]> = {
  NVIDIA_TESLA_T4: [1, 2, 4],
  NVIDIA_TESLA_P4: [1, 2, 4],
  NVIDIA_TESLA_P100: [1, 2, 4],
  NVIDIA_TESLA_V100: [1, 2, 4, 8],
};
const CPU_ONLY = /^(n2|n2d|e2|c2|c2d|c3|m1)-(standard|highmem|highcpu|megamem|ultramem)-\d+$/;
const G2_L4S: Record<number, number> = { 4: 1, 8: 1, 12: 1, 16: 1, 32: 1, 24: 2, 48: 4, 96: 8 };
const BUILT_IN: ReadonlyArray<[RegExp, string]> = [
  [/^a2-highgpu-(1|2|4|8)g$/, "NVIDIA_TESLA_A100"],
  [/^a2-megagpu-(16)g$/, "NVIDIA_TESLA_A100"],
  [/^a2-ultragpu-(1|2|4|8)g$/, "NVIDIA_A100_80GB"],
  [/^a3-highgpu-(1|2|4|8)g$/, "NVIDIA_H100_80GB"],
  [/^a3-megagpu-(8)g$/, "NVIDIA_H100_MEGA_80GB"],
];

export interface MachineSpecInput {
  machineType?: string | null;
  acceleratorType?: string | number | null;
  acceleratorCount?: number | string | null;
}

/** Throws INVALID_ARGUMENT naming the field when Vertex would refuse this machine spec. */
export function checkMachineSpec(spec: MachineSpecInput | null | undefined, where: string): void {
  const machine = spec?.machineType ?? "";
  if (!machine) throw invalid(`${where}.machine_spec.machine_type is required.`);
  const accelerator =
    spec?.acceleratorType &&
    spec.acceleratorType !== "ACCELERATOR_TYPE_UNSPECIFIED" &&
    spec.acceleratorType !== 0
      ? String(spec.acceleratorType)
      : null;
  const count = Number(spec?.acceleratorCount ?? 0);
  const refuse = (why: string): never => {
    throw invalid(`${where}.machine_spec: ${why}`);
  };
  if (accelerator && count < 1) refuse(`accelerator_count must be at least 1 for ${accelerator}.`);
  if (!accelerator && count > 0) refuse(`accelerator_count ${count} is set without an accelerator_type.`);

  const n1 = /^n1-(standard|highmem|highcpu)-(\d+)$/.exec(machine);
  if (n1) {
    if (!N1_SIZES[n1[1]!]!.includes(Number(n1[2]))) refuse(`Machine type "${machine}" is not supported.`);
    if (!accelerator) return;
    const counts = N1_GPUS[accelerator];
    if (!counts) refuse(`Accelerator "${accelerator}" is not supported for machine type "${machine}".`);
    if (!counts!.includes(count))
      refuse(
        `${count} x ${accelerator} is not supported for machine type "${machine}" (counts: ${counts!.join(", ")}).`,
      );
    return;
  }
  if (CPU_ONLY.test(machine)) {
    if (accelerator) refuse(`Accelerator "${accelerator}" is not supported for machine type "${machine}".`);
    return;
  }
  const g2 = /^g2-standard-(\d+)$/.exec(machine);
  if (g2) {
    const l4s = G2_L4S[Number(g2[1])];
    if (!l4s) refuse(`Machine type "${machine}" is not supported.`);
    if (accelerator !== "NVIDIA_L4" || count !== l4s)
      refuse(
        `Machine type "${machine}" requires exactly ${l4s} x NVIDIA_L4, got ${accelerator ? `${count} x ${accelerator}` : "none"}.`,
      );
    return;
  }
  for (const [re, gpu] of BUILT_IN) {
    const m = re.exec(machine);
    if (!m) continue;
    const n = Number(m[1]);
    if (accelerator !== gpu || count !== n)
      refuse(
        `Machine type "${machine}" requires exactly ${n} x ${gpu}, got ${accelerator ? `${count} x ${accelerator}` : "none"}.`,
      );
    return;
  }
  refuse(`Machine type "${machine}" is not supported.`);
}
