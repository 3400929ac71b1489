import { z } from "zod";
import { FileFormatError, validateDocument } from "../util/json-file.js";

/**
 * Agent trajectories as they are found in trial directories, told apart by content:
 *
 * - tmax's `agent/chat-messages.json` (`agent/trajectory.json` in older tmax jobs): the exact array of OpenAI chat
 *   messages the agent exchanged;
 * - Harbor's ATIF (Agent Trajectory Interchange Format), an object with `schema_version: "ATIF-v1.x"`: written by
 *   Harbor's agents and by tmax as `agent/trajectory.json` (older tmax jobs: `agent/trajectory.atif.json`).
 *
 * Both schemas keep unknown keys (later ATIF minor versions and provider-specific message fields survive).
 */

const str = z.string().nullable().optional();
const num = z.number().nullable().optional();

export const chatToolCallSchema = z.looseObject({
  id: z.string(),
  type: z.string().optional(),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

export const chatMessageSchema = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  /** Text, or OpenAI content parts. */
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]).nullable().optional(),
  tool_calls: z.array(chatToolCallSchema).nullable().optional(),
  tool_call_id: z.string().optional(),
});

export const atifToolCallSchema = z.looseObject({
  tool_call_id: z.string(),
  function_name: z.string(),
  arguments: z.unknown(),
});

export const atifStepSchema = z.looseObject({
  step_id: z.number().int(),
  timestamp: str,
  /** "system", "user" or "agent". */
  source: z.string(),
  message: z.union([z.string(), z.array(z.unknown())]).nullable().optional(),
  model_name: str,
  reasoning_content: str,
  tool_calls: z.array(atifToolCallSchema).nullable().optional(),
  observation: z
    .looseObject({ results: z.array(z.looseObject({ source_call_id: str, content: z.unknown() })) })
    .nullable()
    .optional(),
  metrics: z
    .looseObject({ prompt_tokens: num, completion_tokens: num, cached_tokens: num, cost_usd: num })
    .nullable()
    .optional(),
});

export const ATIF_VERSION = /^ATIF-v1\.\d+$/;

export const atifDocumentSchema = z.looseObject({
  schema_version: z.string().regex(ATIF_VERSION, 'expected "ATIF-v1.x"'),
  session_id: str,
  agent: z.looseObject({ name: z.string(), version: str, model_name: str }),
  steps: z.array(atifStepSchema),
  final_metrics: z
    .looseObject({
      total_prompt_tokens: num,
      total_completion_tokens: num,
      total_cached_tokens: num,
      total_cost_usd: num,
      total_steps: num,
    })
    .nullable()
    .optional(),
});

export type ChatMessageDoc = z.infer<typeof chatMessageSchema>;
export type AtifDocument = z.infer<typeof atifDocumentSchema>;

/** tmax's trajectory: the chat messages, in order. */
export interface ChatTrajectory {
  format: "chat";
  /** The file it was read from. */
  file: string;
  messages: ChatMessageDoc[];
}

/** An ATIF trajectory (agent/trajectory.json; agent/trajectory.atif.json in older tmax jobs). */
export interface AtifTrajectory {
  format: "atif";
  file: string;
  /** e.g. "ATIF-v1.4". */
  schemaVersion: string;
  document: AtifDocument;
}

export type Trajectory = ChatTrajectory | AtifTrajectory;

/**
 * Classifies and validates a parsed trajectory file: an array is tmax's chat messages, an object with an ATIF
 * `schema_version` is ATIF. Anything else, or a malformed one, throws FileFormatError naming the file and field.
 */
export function trajectoryFromJson(file: string, data: unknown): Trajectory {
  if (Array.isArray(data)) return { format: "chat", file, messages: validateDocument(file, data, z.array(chatMessageSchema)) };
  if (typeof data === "object" && data !== null && typeof (data as { schema_version?: unknown }).schema_version === "string") {
    const document = validateDocument(file, data, atifDocumentSchema);
    return { format: "atif", file, schemaVersion: document.schema_version, document };
  }
  throw new FileFormatError(file, "", 'neither an array of chat messages (tmax) nor an ATIF document (schema_version "ATIF-v1.x")');
}
