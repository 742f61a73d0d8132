"""Answering a policy question: retrieval through the knowledge index, composing the answer
with numbered citations, and measuring how well that works (evaluation)."""
