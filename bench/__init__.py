"""The easel benchmark: what easel costs on top of the model, measured end to end.

`python -m bench` runs the real Slack adapter (HTTP mode) as its own process against a
scripted fake OpenAI and a fake Slack Web API, each in its own process, all on 127.0.0.1.
See "Benchmark" in README.md.
"""
