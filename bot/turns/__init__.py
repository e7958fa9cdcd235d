"""Drawing turns: the service that runs them, their order per thread, previews and delivery."""
