"""The Slack adapter: Bolt AsyncApp listeners and SlackSurface."""
