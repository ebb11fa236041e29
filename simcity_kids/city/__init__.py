"""The city: profiles (TOML or a folder of CSVs), segregation, its schools and providers, and the synthetic
families and children that live in it."""
