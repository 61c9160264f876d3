"""Usage files in the console: upload one, follow its load, download its rejection report."""
