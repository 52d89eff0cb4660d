package auth

// Scopes of the retention API: reading settings, the expired list and past
// sweeps, and changing settings, manual retention dates and running sweeps.
func init() {
	Scopes = append(Scopes, "retention:read", "retention:write")
	scopeRoles["retention:read"] = []string{RoleAdmin, RolePrivacyOfficer}
	scopeRoles["retention:write"] = []string{RoleAdmin, RolePrivacyOfficer}
}
