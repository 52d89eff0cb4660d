package auth

// Scope of the webhook API: subscriptions (with their secrets), the
// delivery log, replays and test events.
func init() {
	Scopes = append(Scopes, "webhooks:admin")
	scopeRoles["webhooks:admin"] = []string{RoleAdmin}
}
