"""Database rights on patient identities (see clinic/roles.py for the whole table).

Front desk registers and edits identities; clinicians read them (to find a patient, and to be
refused the clinical record when the patient is not theirs). Analysts, privacy officers and
administrators get nothing: no row, no column.
"""

from clinic.provisioning import add_role_grants
from clinic.roles import grant

# Only a request whose verified role is the group may use the group's rights: gated, like every
# table a group role holds a right on, by clinic/role_gate.py.
add_role_grants("clinic_front_desk", [grant("SELECT, INSERT, UPDATE", "patient_identities")])
add_role_grants("clinic_clinician", [grant("SELECT", "patient_identities")])
# The privacy officer sees whose access report or accounting of disclosures it is: the name and
# MRN (ciphertext; readable only through the application's keys) and the blind indexes of the
# look-ups by last name and date of birth, SSN or MRN (keyed hashes, not the values; issue 16,
# item 10). No date of birth, SSN, address, phone or email.
add_role_grants(
    "clinic_privacy_officer",
    [
        grant(
            "SELECT",
            "patient_identities",
            "patient_id",
            "first_name",
            "last_name",
            "mrn",
            "mrn_bidx",
            "ssn_bidx",
            "last_name_dob_bidx",
        )
    ],
)
