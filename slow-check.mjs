import { createServer } from "node:http";
import { OpenAIChatClient } from "./dist/model/openai-client.js";
const server = createServer((req, res) => {
  req.resume();
  setTimeout(() => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ id: "x", object: "chat.completion", created: 0, model: "m", choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "late but here" } }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
  }, 310_000);
}).listen(0, async () => {
  const url = `http://127.0.0.1:${server.address().port}/v1`;
  const client = new OpenAIChatClient({ baseUrl: url, model: "m", requestTimeoutSec: 400, retry: { attempts: 1, baseDelaySec: 1, maxRetryAfterSec: 1 } });
  const t0 = Date.now();
  try { const r = await client.complete([{ role: "user", content: "hi" }], [], {}); console.log("OK after", (Date.now() - t0) / 1000, "s:", r.message.content); }
  catch (e) { console.log("FAILED after", (Date.now() - t0) / 1000, "s:", e.message); }
  server.close();
});
