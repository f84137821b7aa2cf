// Entry point of the Node jobs image: `node gpu-jobs/cli.ts <prepare|tune|evaluate> --flag value ...`.
import { runJob } from "./common/job-runtime.ts";

const [step, ...args] = process.argv.slice(2);
let code: number;
switch (step) {
  case "prepare": {
    const { prepareJob } = await import("./prepare/job.ts");
    code = await runJob("prepare", args, prepareJob);
    break;
  }
  case "tune": {
    // Parallel trials: this job submits a Vertex AI tuning job and waits for it (gpu-jobs/tune/job.ts).
    const { makeTuneJob } = await import("./tune/job.ts");
    code = await runJob("tune", args, makeTuneJob());
    break;
  }
  case "evaluate": {
    const { evaluateJob } = await import("./evaluate/job.ts");
    code = await runJob("evaluate", args, evaluateJob);
    break;
  }
  default:
    console.error(
      `usage: cli.ts <prepare|tune|evaluate> --flag value ...  (got ${JSON.stringify(step ?? "")})`,
    );
    code = 2;
}
process.exitCode = code;
