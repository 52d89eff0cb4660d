package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
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
