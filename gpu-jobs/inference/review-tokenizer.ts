// The exported tokenizer.json through Hugging Face tokenizers: review text to the ids the model was trained on.
import { Tokenizer } from "tokenizers";
import { InvalidModelError } from "./model-errors.ts";

/** The model's input text, as the metadata's textTemplate `title + ' ' + text` says. */
export function reviewText(title: string, text: string): string {
  return `${title} ${text}`;
}

/** Token names that mean padding in BERT- and RoBERTa-style vocabularies, when tokenizer.json names none. */
const PAD_TOKENS = ["[PAD]", "<pad>", "<|pad|>"];

export class ReviewTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    /** Truncation length set inside tokenizer.json: no encoding is longer. */
    readonly maxLength: number,
    /** Ids run from 0 to vocabSize - 1, added tokens included. */
    readonly vocabSize: number,
    /** Id placed after the end of shorter rows of a batch; the attention mask hides it. */
    readonly padId: number,
  ) {}

  /** Parses tokenizer.json; it must truncate (the contract: max length set inside, no padding). */
  static fromJson(json: string, file = "tokenizer.json"): ReviewTokenizer {
    let config: { truncation?: { max_length?: unknown } | null; padding?: { pad_id?: unknown } | null };
    try {
      config = JSON.parse(json) as typeof config;
    } catch (err) {
      throw new InvalidModelError(`${file} is not valid JSON: ${(err as Error).message}`);
    }
    let tokenizer: Tokenizer;
    try {
      tokenizer = Tokenizer.fromString(json);
    } catch (err) {
      throw new InvalidModelError(`${file} is not a Hugging Face tokenizer: ${(err as Error).message}`);
    }
    const maxLength = config.truncation?.max_length;
    if (typeof maxLength !== "number" || !Number.isInteger(maxLength) || maxLength < 1) {
      throw new InvalidModelError(
        `${file} sets no truncation length: the export must truncate at the model's max length`,
      );
    }
    // Padding is this module's job (per batch, to the longest row); a fixed padding would waste compute.
    tokenizer.disablePadding();
    const vocabSize = tokenizer.getVocabSize(true);
    const configured = config.padding?.pad_id;
    const named = PAD_TOKENS.map((t) => tokenizer.tokenToId(t)).find((id) => typeof id === "number");
    const padId = typeof configured === "number" ? configured : (named ?? 0);
    return new ReviewTokenizer(tokenizer, maxLength, vocabSize, padId);
  }

  /** Ids of each text, in order, special tokens added and truncated at maxLength. */
  async encode(texts: readonly string[]): Promise<Int32Array[]> {
    if (texts.length === 0) return [];
    const encodings = await this.tokenizer.encodeBatch([...texts]);
    return encodings.map((e) => Int32Array.from(e.getIds()));
  }
}
