"""The operator console's page, script and style sheet, served by `adapters.http.admin_routes`."""
