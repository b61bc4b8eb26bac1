"""The chain's people who work in the console: accounts, passwords, sessions."""
