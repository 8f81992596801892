"""grokbench: does this network grok here, and how fast?"""

__version__ = "0.1.0"
