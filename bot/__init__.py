"""easel's platform-neutral core: one drawing turn, whatever the chat platform."""
