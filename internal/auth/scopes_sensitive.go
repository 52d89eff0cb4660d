package auth

// Scope of reading the full value of a sensitive field (audited, with a
// stated reason); every other answer shows such values masked.
func init() {
	Scopes = append(Scopes, "sensitive:unmask")
	scopeRoles["sensitive:unmask"] = []string{RoleAdmin, RolePrivacyOfficer}
}
