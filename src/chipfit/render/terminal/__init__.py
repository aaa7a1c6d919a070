"""Terminal views (rich tables) of analysis results."""
