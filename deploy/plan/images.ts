// The Artifact Registry repository and the three images, built by Cloud Build and tagged with their source hash.
import { BUILT_IMAGES, type BuiltImage } from "../names.ts";
import type { PlanContext } from "./context.ts";
import { keys } from "./context.ts";
import { labelList } from "./commands.ts";
import { builderBindingKeys } from "./identities.ts";
import type { Resource } from "./types.ts";

/** Where each image's build is described; the build context is the repository root. */
export const IMAGE_BUILDS: Record<BuiltImage, { cloudbuild: string; dockerfile: string; doc: string }> = {
  trainer: {
    cloudbuild: "deploy/images/trainer/cloudbuild.yaml",
    dockerfile: "gpu-jobs/trainer/Dockerfile",
    doc: "the PyTorch trainer (tune and train jobs, GPU)",
  },
  jobs: {
    cloudbuild: "deploy/images/jobs/cloudbuild.yaml",
    dockerfile: "deploy/images/jobs/Dockerfile",
    doc: "the Node jobs (prepare, and evaluate with onnxruntime-node's CUDA provider)",
  },
  serving: {
    cloudbuild: "deploy/images/serving/cloudbuild.yaml",
    dockerfile: "deploy/images/serving/Dockerfile",
    doc: "the prediction server for Vertex AI endpoints (registered with each model version)",
  },
};

/** What gcloud uploads as the build context: the repository without dependencies, outputs and caches. */
export const BUILD_IGNORE_FILE = "deploy/images/build.gcloudignore";

export function imageResources(ctx: PlanContext): Resource[] {
  const { g, names, settings, input } = ctx;
  const repositories: Resource[] = names.repositories().map((repo) => ({
    key: keys.repository(repo),
    kind: "repository",
    name: repo,
    nameKind: "repository",
    doc: "Docker repository for the pipeline's images",
    dependsOn: [keys.apis],
    describe: g.read("artifacts", "repositories", "describe", repo, `--location=${names.region}`),
    create: [
      g.write(
        "artifacts",
        "repositories",
        "create",
        repo,
        "--repository-format=docker",
        `--location=${names.region}`,
        "--description=sentiment-pipeline images",
        `--labels=${labelList(settings.labels)}`,
      ),
    ],
    delete: [g.write("artifacts", "repositories", "delete", repo, `--location=${names.region}`)],
  }));
  if (input.skipImages) return repositories;

  const builderEmail = names.serviceAccountEmail("builder");
  const images: Resource[] = BUILT_IMAGES.flatMap((key): Resource[] => {
    const ref = names.image(key);
    if (!ref) return [];
    const sourceUri = ref.sourceUri(input.sourceHashes.images[key]);
    const build = IMAGE_BUILDS[key];
    return [
      {
        key: keys.image(key),
        kind: "image",
        name: sourceUri,
        doc: build.doc,
        dependsOn: [
          keys.repository(ref.repository),
          keys.serviceAccount("builder"),
          ...builderBindingKeys(ctx),
        ],
        describe: g.read("artifacts", "docker", "images", "describe", sourceUri),
        create: [
          g.write(
            "builds",
            "submit",
            `--config=${build.cloudbuild}`,
            `--substitutions=_IMAGE=${ref.uri},_SOURCE_IMAGE=${sourceUri},_DOCKERFILE=${build.dockerfile}`,
            `--region=${names.region}`,
            `--service-account=projects/${names.project}/serviceAccounts/${builderEmail}`,
            `--ignore-file=${BUILD_IGNORE_FILE}`,
            ".",
          ),
        ],
        ownedBy: keys.repository(ref.repository),
        provisioning: "the build runs as the new builder account, whose grants take minutes to apply",
      },
    ];
  });
  return [...repositories, ...images];
}

/** Images the config points outside this project's Artifact Registry: the deployment does not build them. */
export function externalImages(ctx: PlanContext): BuiltImage[] {
  return BUILT_IMAGES.filter((key) => ctx.names.image(key) === null);
}
