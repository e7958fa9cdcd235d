"""The Discord adapter: discord.py client, /draw, thread replies, DiscordSurface."""
