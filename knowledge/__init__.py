"""Policy knowledge: source documents, loaders, section chunking, the hybrid index and ingestion.

Depends on no chat platform; ``bot`` builds answers on top of it.
"""
