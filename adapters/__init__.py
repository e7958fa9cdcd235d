"""Platform adapters: each turns platform payloads into DrawRequests and implements Surface."""
