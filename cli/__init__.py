"""The `bbvae` command-line tool."""
