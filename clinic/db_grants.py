"""The core's own database objects, found by provisioning like every app's `db_grants`: the
verified staff identity (clinic/staff_identity.py), the clinic's date (clinic/clinic_time.py),
and the access log's append function, its grants and the chain's lock
(clinic/access_log/database.py). The role gate (clinic/role_gate.py) covers the access log,
as every table a group role holds a right on."""

import clinic.access_log.database  # noqa: F401
import clinic.clinic_time  # noqa: F401
import clinic.role_gate  # noqa: F401
import clinic.staff_identity  # noqa: F401
