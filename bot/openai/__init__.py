"""The OpenAI image backend: one streamed Responses call per turn."""
