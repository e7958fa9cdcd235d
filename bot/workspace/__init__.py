"""Workspace settings and spend: options, settings, prices, quotas, and admission."""
