// Reads what the runtime does not expose from an ONNX file: the embedding table's size and the model's properties.
import onnxProto from "onnx-proto";
import { InvalidModelError } from "./model-errors.ts";

const { onnx } = onnxProto;

export interface OnnxFacts {
  /** Rows of the table that `input_ids` index (the largest id the model accepts + 1), null when not found. */
  embeddingRows: number | null;
  /** `metadata_props` of the model. */
  properties: Record<string, string>;
}

interface GraphNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  /** Rows of a Constant node's tensor. */
  constantRows: number | null;
}

/** Ops an id tensor may pass through on its way to the embedding lookup, and ops in front of a stored table. */
const ID_PASS_THROUGH = new Set(["Cast", "Identity"]);
const TABLE_PASS_THROUGH = new Set(["DequantizeLinear", "Cast", "Identity"]);

/** Decodes the model file (a corrupt file is an InvalidModelError) and finds the embedding table of `input_ids`. */
export function inspectOnnx(bytes: Uint8Array, file: string): OnnxFacts {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new InvalidModelError(`${file} is not a valid ONNX model: ${(err as Error).message}`);
  }
  const nodes: GraphNode[] = (model.graph?.node ?? []).map((n) => ({
    opType: n.opType ?? "",
    inputs: n.input ?? [],
    outputs: n.output ?? [],
    constantRows: rowsOf(n.attribute?.find((a) => a.name === "value")?.t?.dims),
  }));
  if (nodes.length === 0) throw new InvalidModelError(`${file} is not a valid ONNX model: it has no graph`);
  const properties: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) if (p.key) properties[p.key] = p.value ?? "";

  const producer = new Map<string, GraphNode>();
  for (const node of nodes) for (const out of node.outputs) producer.set(out, node);
  const tables = new Map<string, number | null>();
  for (const t of model.graph?.initializer ?? []) if (t.name) tables.set(t.name, rowsOf(t.dims));

  const fromIds = new Set(["input_ids"]);
  for (const node of nodes) {
    if (ID_PASS_THROUGH.has(node.opType) && fromIds.has(node.inputs[0] ?? ""))
      for (const o of node.outputs) fromIds.add(o);
  }
  let embeddingRows: number | null = null;
  for (const node of nodes) {
    if (node.opType !== "Gather" || !fromIds.has(node.inputs[1] ?? "")) continue;
    const rows = tableRows(node.inputs[0] ?? "", tables, producer);
    if (rows !== null) embeddingRows = embeddingRows === null ? rows : Math.min(embeddingRows, rows);
  }
  return { embeddingRows, properties };
}

function rowsOf(dims: readonly (number | { toNumber(): number })[] | null | undefined): number | null {
  const first = dims?.[0];
  if (first === undefined) return null;
  return typeof first === "number" ? first : first.toNumber();
}

/** Rows of a table: an initializer or a Constant, possibly behind a dequantize or a cast. */
function tableRows(
  name: string,
  tables: ReadonlyMap<string, number | null>,
  producer: ReadonlyMap<string, GraphNode>,
): number | null {
  for (let hops = 0; hops < 4; hops += 1) {
    if (tables.has(name)) return tables.get(name) ?? null;
    const node = producer.get(name);
    if (!node) return null;
    if (node.opType === "Constant") return node.constantRows;
    if (!TABLE_PASS_THROUGH.has(node.opType)) return null;
    name = node.inputs[0] ?? "";
  }
  return null;
}
