// The bucket that holds uploads/ and runs/: uniform access, public access prevented, in the pipeline's region.
import type { PlanContext } from "./context.ts";
import { keys } from "./context.ts";
import type { Resource } from "./types.ts";

/** Top-level folders of the bucket, created as managed folders so they show and can carry their own IAM. */
export const BUCKET_FOLDERS = ["uploads/", "runs/"] as const;

interface BucketDescription {
  location?: string;
  uniform_bucket_level_access?: boolean;
  public_access_prevention?: string;
}

export function storageResources(ctx: PlanContext): Resource[] {
  const { g, names } = ctx;
  const url = `gs://${names.bucket}`;
  const bucket: Resource = {
    key: keys.bucket,
    kind: "bucket",
    name: names.bucket,
    nameKind: "bucket",
    doc: "uploads/ (each finalized upload starts a run) and runs/ (everything a run produces)",
    dependsOn: [keys.apis],
    describe: g.read("storage", "buckets", "describe", url),
    conflict: (described) => {
      const location = (described as BucketDescription).location;
      return location && location.toLowerCase() !== names.region
        ? `bucket ${names.bucket} is in ${location.toLowerCase()}, not ${names.region}: the upload trigger must be in the bucket's region`
        : null;
    },
    drift: (described) => {
      const d = described as BucketDescription;
      const diffs: string[] = [];
      if (d.uniform_bucket_level_access !== true) diffs.push("uniform bucket-level access is off");
      if (d.public_access_prevention !== "enforced")
        diffs.push(`public access prevention is ${d.public_access_prevention ?? "unset"}`);
      return Promise.resolve(diffs);
    },
    create: [
      g.write(
        "storage",
        "buckets",
        "create",
        url,
        `--location=${names.region}`,
        "--uniform-bucket-level-access",
        "--public-access-prevention",
        "--default-storage-class=STANDARD",
      ),
    ],
    update: [
      g.write(
        "storage",
        "buckets",
        "update",
        url,
        "--uniform-bucket-level-access",
        "--public-access-prevention",
      ),
    ],
    // Objects, managed folders and the bucket itself.
    delete: [g.write("storage", "rm", "--recursive", "--all-versions", url)],
    keepOnTeardown:
      "it holds the uploads, the runs and the model artifacts the registry points at; pass --delete-bucket to remove it",
  };
  const folders: Resource[] = BUCKET_FOLDERS.map((folder) => ({
    key: keys.folder(folder),
    kind: "managed-folder",
    name: `${url}/${folder}`,
    doc: folder === "uploads/" ? "where users upload review files" : "one folder per run",
    dependsOn: [keys.bucket],
    describe: g.read("storage", "managed-folders", "describe", `${url}/${folder}`),
    create: [g.write("storage", "managed-folders", "create", `${url}/${folder}`)],
    ownedBy: keys.bucket,
  }));
  return [bucket, ...folders];
}
