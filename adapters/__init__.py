"""Channels: each adapter translates between one network (terminal, HTTP, Slack, Discord) and `bot.types`."""
