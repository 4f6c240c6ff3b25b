"""File handling: atomic writes, checksums, downloads, archive extraction, tensor files."""
