"""Where backup files live: a local directory or an S3-compatible bucket."""
