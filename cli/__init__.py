"""The `llm` command line: one module per subcommand, plus the I/O edge."""
