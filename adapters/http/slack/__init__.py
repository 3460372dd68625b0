"""Slack: Events API, slash commands and interactivity, verified with slack_sdk and answered through its Web API."""
