"""Examples of what the workflow takes beyond the paper: networks of your own (sparse_cnn3)."""
