package importer_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/consento/consento/internal/importer"
	"github.com/consento/consento/internal/storetest"
)

// A row with a NUL, another control character, a line break in a name, a
// country that is no ISO code or an over-long value is refused with its
// line number and the column; the rest of the file is imported, on both
// engines alike.
func TestImportRefusesBadTextsByLine(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		l := newLedger(t, e)
		file := "Vorname;Nachname;E-Mail;Land;Firma\n" +
			"Anna;Berg;anna@example.com;de;Berg GmbH\n" + // line 2: imported, country DE
			"Ben\x00;Kohl;ben@example.com;;\n" + // line 3
			"Carla;\"Mei\ner\";carla@example.com;;\n" + // lines 4-5
			"Dieter;Roth\x1b[2J;dieter@example.com;;\n" + // line 6
			"Eva;Lang;eva@example.com;Deutschland;\n" + // line 7
			"Fritz;" + strings.Repeat("h", 201) + ";fritz@example.com;;\n" + // line 8
			"Gerd;Stein;gerd@example.com;;Bad\x07 AG\n" // line 9
		var rejects bytes.Buffer
		rep, err := importer.Run(ctx, l, strings.NewReader(file), importer.Options{Mapping: map[string]string{
			"first_name": "Vorname", "last_name": "Nachname", "email": "E-Mail", "country": "Land", "organisation": "Firma"}, Rejects: &rejects})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Created != 1 || rep.Rejected != 6 || rep.RolledBack {
			t.Fatalf("report %+v\n%s", rep, rejects.String())
		}
		want := map[string]string{"3": "Vorname", "4": "Nachname", "6": "Nachname", "7": "Land", "8": "Nachname", "9": "Firma"}
		recs := readRejects(t, rejects.Bytes())
		for _, r := range recs[1:] {
			col, ok := want[r[0]]
			if !ok || !strings.Contains(r[1], col) {
				t.Errorf("rejected line %s: %q, want the column %s named", r[0], r[1], col)
			}
			delete(want, r[0])
		}
		if len(want) != 0 {
			t.Errorf("lines not rejected: %v", want)
		}
		anna, err := l.PersonByEmail(ctx, "anna@example.com")
		if err != nil || anna.Address.Country != "DE" {
			t.Fatalf("anna: %+v %v", anna, err)
		}
		for _, addr := range []string{"ben@example.com", "carla@example.com", "gerd@example.com"} {
			if _, err := l.PersonByEmail(ctx, addr); err == nil {
				t.Errorf("%s was imported from a refused row", addr)
			}
		}
	})
}
