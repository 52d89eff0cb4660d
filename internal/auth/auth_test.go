package auth_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
)

func TestPasswordHashing(t *testing.T) {
	h, err := auth.HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=2,p=2$") {
		t.Fatalf("not an argon2id PHC string: %s", h)
	}
	if !auth.CheckPassword(h, "correct horse battery staple") {
		t.Fatal("the right password is refused")
	}
	if auth.CheckPassword(h, "correct horse battery stapler") || auth.CheckPassword("garbage", "x") {
		t.Fatal("a wrong password or hash is accepted")
	}
	h2, _ := auth.HashPassword("correct horse battery staple")
	if h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
}

func TestTokens(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		a := auth.New(db)
		tok, secret, err := a.CreateToken(ctx, audit.System, "crm", []string{"consents:read"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, auth.TokenPrefix) || len(secret) < 40 {
			t.Fatalf("weak secret %q", secret)
		}
		var stored int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM api_tokens WHERE scopes LIKE ? OR name = ?`, "%"+secret+"%", secret).Scan(&stored); err != nil || stored != 0 {
			t.Fatalf("the secret is stored in clear: %d %v", stored, err)
		}
		got, err := a.LookupToken(ctx, secret)
		if err != nil || got.ID != tok.ID || !got.Has("consents:read") || got.Has("consents:write") {
			t.Fatalf("lookup %+v %v", got, err)
		}
		if _, err := a.LookupToken(ctx, secret+"x"); err != auth.ErrBadToken {
			t.Fatalf("a wrong secret: %v", err)
		}
		if err := a.RevokeToken(ctx, audit.System, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.LookupToken(ctx, secret); err != auth.ErrBadToken {
			t.Fatalf("a revoked token still works: %v", err)
		}
		_, short, err := a.CreateToken(ctx, audit.System, "short", []string{"audit:read"}, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		if _, err := a.LookupToken(ctx, short); err != auth.ErrBadToken {
			t.Fatalf("an expired token works: %v", err)
		}
		if _, _, err := a.CreateToken(ctx, audit.System, "x", []string{"admin:everything"}, 0); err == nil {
			t.Fatal("an unknown scope was accepted")
		}
	})
}

// Every role × every scope: a member of a role may put on a token only
// the scopes of what the role may do in the staff UI; every other scope is
// refused with a field error and nothing is stored. The operator's CLI
// (CreateToken) may grant any scope.
func TestTokenScopesByRole(t *testing.T) {
	A, P, S, M := auth.RoleAdmin, auth.RolePrivacyOfficer, auth.RoleStaff, auth.RoleMarketing
	grants := map[string][]string{
		"persons:read":     {A, P, S, M},
		"persons:write":    {A, P, S},
		"consents:read":    {A, P, S, M},
		"consents:write":   {A, P, S},
		"config:read":      {A, P, S, M},
		"config:write":     {A, P},
		"audit:read":       {A, P},
		"breaches:read":    {A, P},
		"breaches:write":   {A, P},
		"retention:read":   {A, P},
		"retention:write":  {A, P},
		"rights:read":      {A, P, S},
		"rights:write":     {A, P},
		"sensitive:unmask": {A, P},
		"webhooks:admin":   {A},
	}
	for _, sc := range auth.Scopes {
		if _, ok := grants[sc]; !ok {
			t.Fatalf("scope %s is missing from this table: decide which roles grant it", sc)
		}
	}
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		a := auth.New(db)
		for _, role := range auth.Roles {
			var want []string
			for _, sc := range auth.Scopes {
				if slices.Contains(grants[sc], role) {
					want = append(want, sc)
				}
			}
			if got := auth.ScopesFor(role); !slices.Equal(got, want) {
				t.Errorf("%s is offered %v, want %v", role, got, want)
			}
			for _, sc := range auth.Scopes {
				allowed := slices.Contains(grants[sc], role)
				tok, secret, err := a.CreateTokenAs(ctx, audit.System, role, role+" "+sc, []string{"persons:read", sc}, 0)
				if allowed {
					if err != nil {
						t.Errorf("%s creating a token with %s: %v", role, sc, err)
						continue
					}
					if got, err := a.LookupToken(ctx, secret); err != nil || !got.Has(sc) || got.ID != tok.ID {
						t.Errorf("%s's token with %s: %+v %v", role, sc, got, err)
					}
					continue
				}
				de, ok := ledger.AsError(err)
				if !ok || de.Kind != ledger.KindInvalid || len(de.Fields) != 1 || de.Fields[0].Field != "scopes" || !strings.Contains(de.Fields[0].Message, sc) {
					t.Errorf("%s granting %s: %v, want a field error on scopes naming it", role, sc, err)
				}
			}
		}
		ts, err := a.Tokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range ts {
			role, _, _ := strings.Cut(tok.Name, " ")
			for _, sc := range tok.Scopes {
				if !slices.Contains(grants[sc], role) {
					t.Errorf("stored: a %s token with %s", role, sc)
				}
			}
		}
		if _, _, err := a.CreateTokenAs(ctx, audit.System, "", "x", []string{"persons:read"}, 0); err == nil {
			t.Error("a token for no role was created")
		}
		if _, _, err := a.CreateToken(ctx, audit.System, "operator", auth.Scopes, 0); err != nil {
			t.Errorf("the operator's token with every scope: %v", err)
		}
	})
}
