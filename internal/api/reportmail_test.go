package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/storetest"
)

// oaReportEmailAnswers drives the report e-mail to its documented answers
// (called from oaRightsAnswers with a verified access case of pid).
func oaReportEmailAnswers(t *testing.T, call func(int, string, string, string, any, ...string) []byte, pid int64, accP string) {
	t.Helper()
	const tmpl = "/api/v1/rights-requests/{id}/report-email"
	var out rights.ReportEmail
	_ = json.Unmarshal(call(202, "POST", tmpl, accP+"/report-email", nil), &out)
	if out.MailID == 0 || out.To != "r***@example.com" {
		t.Errorf("report e-mail: %+v", out)
	}
	call(404, "POST", tmpl, "/api/v1/rights-requests/999999/report-email", nil)
	var r struct{ ID int64 }
	_ = json.Unmarshal(call(201, "POST", "/api/v1/rights-requests", "/api/v1/rights-requests", map[string]any{"person_id": pid, "type": "access"}), &r)
	call(409, "POST", tmpl, fmt.Sprintf("/api/v1/rights-requests/%d/report-email", r.ID), nil)
}

type problemBody struct{ Type, Detail string }

func TestReportEmailAPI(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		ctx := context.Background()
		e := newEnv(t, eng)
		p, err := e.ledger.CreatePerson(ctx, ledger.Actor{Type: "user", ID: "1"}, ledger.PersonInput{FirstName: "Grete", LastName: "Østergaard", Emails: []string{"grete@example.dk"}, Language: "da"})
		if err != nil {
			t.Fatal(err)
		}
		problem := func(res *http.Response) problemBody {
			var pr problemBody
			_ = json.NewDecoder(res.Body).Decode(&pr)
			res.Body.Close()
			return pr
		}
		r := decode[rights.Request](t, e.do("POST", "/api/v1/rights-requests", map[string]any{"person_id": p.ID, "type": "access", "requester_email": "grete@example.dk"}), http.StatusCreated)
		path := fmt.Sprintf("/api/v1/rights-requests/%d/report-email", r.ID)
		if res := e.do("POST", path, nil); res.StatusCode != http.StatusConflict || !strings.HasSuffix(problem(res).Type, "/identity-not-verified") {
			t.Fatalf("unverified: %d", res.StatusCode)
		}
		decode[rights.Request](t, e.do("POST", fmt.Sprintf("/api/v1/rights-requests/%d/verify", r.ID), map[string]any{"method": "reply from the stored address"}), 200)
		if res := e.doAs(e.tokenWith("rights:read"), "POST", path, nil); res.StatusCode != http.StatusForbidden {
			t.Fatalf("with rights:read only: %d", res.StatusCode)
		}
		got := decode[rights.ReportEmail](t, e.do("POST", path, nil), http.StatusAccepted)
		if got.To != "g***@example.dk" || got.RequestID != r.ID {
			t.Fatalf("answer %+v", got)
		}
		m, err := mail.Get(ctx, e.db, got.MailID)
		if err != nil || m.To != "grete@example.dk" || m.Template != "access_report" || m.Language != "da" || len(m.Attachments) != 1 || m.Attachments[0].Name != got.Filename {
			t.Fatalf("outbox mail %+v, %v", m, err)
		}
		a, err := mail.AttachmentContent(ctx, e.db, got.MailID, 1)
		if err != nil || !strings.HasPrefix(string(a.Content), "%PDF") {
			t.Fatalf("attachment: %v", err)
		}
		c := decode[rights.Request](t, e.do("GET", fmt.Sprintf("/api/v1/rights-requests/%d", r.ID), nil), 200)
		if len(c.Notes) != 1 || !strings.Contains(c.Notes[0].Body, "g***@example.dk") {
			t.Fatalf("notes %+v", c.Notes)
		}

		// Restricted: 423 with a clear problem, nothing queued.
		res := decode[rights.Request](t, e.do("POST", "/api/v1/rights-requests", map[string]any{"person_id": p.ID, "type": "restriction"}), http.StatusCreated)
		decode[rights.Request](t, e.do("POST", fmt.Sprintf("/api/v1/rights-requests/%d/verify", res.ID), map[string]any{"method": "known address"}), 200)
		decode[rights.Request](t, e.do("POST", fmt.Sprintf("/api/v1/rights-requests/%d/restriction", res.ID), map[string]any{"reason": "accuracy contested"}), 200)
		ans := e.do("POST", path, nil)
		if pr := problem(ans); ans.StatusCode != http.StatusLocked || !strings.HasSuffix(pr.Type, "/person-restricted") || !strings.Contains(pr.Detail, "Art. 18") {
			t.Fatalf("restricted: %d %+v", ans.StatusCode, pr)
		}
		if list, _ := mail.List(ctx, e.db, "", 0, 10); len(list) != 1 {
			t.Fatalf("outbox holds %d mails; want 1", len(list))
		}
	})
}
