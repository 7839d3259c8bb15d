"""Import the modules whose `register_step`/`add_role_grants` calls extend provisioning."""

import analytics.db_grants  # noqa: F401
import clinic.access_log_db  # noqa: F401
import clinic.auth_db_grants  # noqa: F401
import patients.db_grants  # noqa: F401
import records.db_grants  # noqa: F401
