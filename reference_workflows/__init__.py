"""The reference trading-agent system: every workflow pattern of the article, runnable offline.

PYTEST_DONT_REWRITE: workflow code, which the sandbox re-imports for every run, so pytest's
assertion rewriting stays off this package (see ``pytest_temporal_agents.harness._pytest_support``).
"""
