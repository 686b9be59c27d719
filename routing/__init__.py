"""The decision: which provider and model a request goes to, and running that decision."""
