"""The built-in plugins: every KPI and KGI of the catalogue, loaded like third-party ones."""
