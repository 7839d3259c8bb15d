"""Import the modules whose `register_step`/`add_role_grants` calls extend provisioning."""
