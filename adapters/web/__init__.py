"""The local playground: a chat channel in the browser, on the same drawing service."""
