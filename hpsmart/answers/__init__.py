"""Answers: the answer panel, the lead's approvals, answer documents and settings (issue 5)."""
