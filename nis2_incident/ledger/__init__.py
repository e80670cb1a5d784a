"""The ledger: codec (TOML/JSON), chain (canonical form, hash, verify), store (lock, atomic write)."""

from .store import Ledger, Store, parse

__all__ = ["Ledger", "Store", "parse"]
