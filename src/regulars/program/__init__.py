"""The loyalty program definition: one TOML file, validated, versioned, applied."""
