// Encodes texts with the npm `tokenizers` package (what evaluation and serving use) from an exported tokenizer.json.
import { readFileSync } from "node:fs";
import { Tokenizer } from "tokenizers";

const [tokenizerPath, textsPath] = process.argv.slice(2) as [string, string];
const tokenizer = Tokenizer.fromFile(tokenizerPath);
const texts = JSON.parse(readFileSync(textsPath, "utf8")) as string[];
const ids: number[][] = [];
for (const text of texts) ids.push((await tokenizer.encode(text)).getIds());
process.stdout.write(JSON.stringify(ids));
