import { Tokenizer as UntypedTokenizer } from "@huggingface/tokenizers";
import type { FunctionTool } from "../types.js";
import { ChatTemplate, type RenderOptions, type TemplateMessage } from "./chat-template.js";
import { readModelDir } from "./model-dir.js";

export interface EncodeOptions {
  /** Let the tokenizer's post-processor add its special tokens (a BOS, …). Special tokens written in the text are
   * always read as special tokens. */
  addSpecialTokens: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens: boolean;
}

/** The tokenizer and chat template of a Hugging Face model dir, as Python transformers' AutoTokenizer sees them. */
export interface HfTokenizer {
  readonly modelDir: string;
  /** The tokenizer's end-of-sequence token (tokenizer_config.json `eos_token`; `<|im_end|>` for Qwen chat models). */
  readonly eosToken: string;
  readonly eosTokenId: number;
  readonly bosTokenId: number | null;
  readonly padTokenId: number | null;
  /** Tokens that end a turn when sampling: the EOS token, then any other eos_token_id of generation_config.json. */
  readonly stopTokenIds: readonly number[];
  /** Every special token (added tokens marked special): its text → its id. */
  readonly specialTokenIds: ReadonlyMap<string, number>;
  /** The id of one token (vocabulary or added token), or undefined when the tokenizer has no such token. */
  tokenId(token: string): number | undefined;
  encode(text: string, options: EncodeOptions): number[];
  decode(ids: readonly number[], options: DecodeOptions): string;
  /** The chat template applied to a conversation (`tools` null: no tools), as apply_chat_template(tokenize=False). */
  renderPrompt(messages: readonly TemplateMessage[], tools: readonly FunctionTool[] | null, options: RenderOptions): string;
  /** renderPrompt tokenized without special-token insertion, as apply_chat_template(tokenize=True). */
  promptIds(messages: readonly TemplateMessage[], tools: readonly FunctionTool[] | null, options: RenderOptions): number[];
}

/**
 * The part of @huggingface/tokenizers' Tokenizer used here, as its declarations (types/core/Tokenizer.d.ts) give it:
 * TypeScript cannot follow those under NodeNext resolution (they import each other without file extensions).
 */
interface TokenizerBackend {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
  decode(ids: number[], options: { skip_special_tokens: boolean }): string;
  token_to_id(token: string): number | undefined;
  get_added_tokens_decoder(): Map<number, { content: string; special: boolean }>;
}
const Tokenizer = UntypedTokenizer as unknown as new (tokenizerJson: object, tokenizerConfig: object) => TokenizerBackend;

/** Loads tokenizer.json, tokenizer_config.json, the chat template and generation_config.json of a model dir. */
export async function loadHfTokenizer(modelDir: string): Promise<HfTokenizer> {
  const files = await readModelDir(modelDir);
  const tokenizer = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
  const template = new ChatTemplate(files.chatTemplates, files.specialTokens, modelDir);
  const idOf = (name: string): number | null => {
    const token = files.specialTokens.get(name);
    if (token === undefined) return null;
    const id = tokenizer.token_to_id(token);
    if (id === undefined) throw new Error(`${modelDir}: the ${name} ${JSON.stringify(token)} is not a token of tokenizer.json`);
    return id;
  };
  const eosToken = files.specialTokens.get("eos_token");
  const eosTokenId = idOf("eos_token");
  if (eosToken === undefined || eosTokenId === null) throw new Error(`${modelDir}: tokenizer_config.json sets no eos_token`);
  const specialTokenIds = new Map<string, number>();
  for (const [id, token] of tokenizer.get_added_tokens_decoder()) if (token.special) specialTokenIds.set(token.content, id);

  const encode = (text: string, options: EncodeOptions): number[] => tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens }).ids;
  const renderPrompt = (messages: readonly TemplateMessage[], tools: readonly FunctionTool[] | null, options: RenderOptions): string =>
    template.render(messages, tools, options);
  return {
    modelDir,
    eosToken,
    eosTokenId,
    bosTokenId: idOf("bos_token"),
    padTokenId: idOf("pad_token"),
    stopTokenIds: [...new Set([eosTokenId, ...files.generationEosIds])],
    specialTokenIds,
    tokenId: (token) => tokenizer.token_to_id(token),
    encode,
    decode: (ids, options) => tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens }),
    renderPrompt,
    promptIds: (messages, tools, options) => encode(renderPrompt(messages, tools, options), { addSpecialTokens: false }),
  };
}
