"""leakhunt: find, reproduce and prove the fix of memory leaks in long-running Python services."""

__version__ = "0.1.0"
