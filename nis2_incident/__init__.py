"""nis2-incident: record incidents, compute NIS 2 / GDPR / health-code reporting deadlines, keep a
tamper-evident ledger. Not legal advice."""

__version__ = "0.1.0"
