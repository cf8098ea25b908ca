"""The shipped models bbvae picks when none is named. No imports: the CLI names them in its help
without loading torch."""

DEFAULT_MODEL = "mnist-tiny"  # picked for 28x28 grey digits
PHOTO_MODEL = "photo-fast"    # picked for everything but 28x28 grey digits
