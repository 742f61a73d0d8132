"""Personal data: detection and redaction, the entrance guard every question crosses once,
data-subject requests (access and erasure), and retention (the one purge)."""
