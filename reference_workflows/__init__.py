"""The reference trading-agent system: every workflow pattern of the article, runnable offline."""
