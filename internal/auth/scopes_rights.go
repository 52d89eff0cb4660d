package auth

// Scopes of the data-subject rights API: reading request cases, and acting
// on them (verifying, extending, reports, erasure, restriction, objection).
func init() {
	Scopes = append(Scopes, "rights:read", "rights:write")
	scopeRoles["rights:read"] = []string{RoleAdmin, RolePrivacyOfficer, RoleStaff}
	// Acting includes erasure and restriction: admins and privacy officers.
	scopeRoles["rights:write"] = []string{RoleAdmin, RolePrivacyOfficer}
}
