package selfservice_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/consento/consento/internal/storetest"
)

// A form with text no database can store is answered 422; a browser that
// sends bytes above 0x7f in its User-Agent (HTTP allows them) still gets
// its submission recorded, on both engines.
func TestFormWithBadTextAndOddUserAgent(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		_, body, _ := e.do("GET", "/f/newsletter", nil)
		csrf := csrfRe.FindStringSubmatch(body)[1]
		form := url.Values{"csrf": {csrf}, "email": {"ole@example.dk"}, "first_name": {"O\x00le"}, "purpose": {"e_marketing"}, "terms": {"1"}}
		if code, body, _ := e.do("POST", "/f/newsletter", form); code != 422 || !strings.Contains(body, "Please check your input.") {
			t.Fatalf("NUL in a field: %d\n%s", code, body)
		}
		form.Set("first_name", "Ole")
		ua := "Browser/1.0 \xff\xfe " + strings.Repeat("é", 400)
		if code, body, _ := e.do("POST", "/f/newsletter", form, "User-Agent", ua); code != 200 || !strings.Contains(body, "Please check your mailbox") {
			t.Fatalf("odd User-Agent: %d\n%s", code, body)
		}
	})
}
