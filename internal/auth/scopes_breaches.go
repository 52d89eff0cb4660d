package auth

// Scopes of the breach register API: reading incidents, their affected
// persons and timeline, and recording them, notifying the authority and
// notifying the persons.
func init() {
	Scopes = append(Scopes, "breaches:read", "breaches:write")
	scopeRoles["breaches:read"] = []string{RoleAdmin, RolePrivacyOfficer}
	scopeRoles["breaches:write"] = []string{RoleAdmin, RolePrivacyOfficer}
}
