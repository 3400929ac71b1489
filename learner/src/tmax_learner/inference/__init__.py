"""tmax's reference inference server: a Hugging Face causal LM served on vLLM's /v1/completions (token ids in, sampled
ids and processed logprobs out) with vLLM's RL control endpoints (pause / resume, disk weight updates, weight
versions), on CPU. See learner/INFERENCE.md."""
