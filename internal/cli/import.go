package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v3"
	"golang.org/x/term"

	"github.com/consento/consento/internal/importer"
)

func importCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "import persons and their consents from a CSV file, all or nothing (one transaction)",
		ArgsUsage: "FILE.csv",
		Description: "One row per person. Columns are found under their usual names (first_name, last_name, email — several\n" +
			"addresses separated by ; —, phone, street, postal_code, city, country, language, organisation, source) and,\n" +
			"per purpose, consent:<purpose> (granted, withdrawn, refused, objected or pending; empty = nothing),\n" +
			"consent_date:<purpose> (YYYY-MM-DD or RFC 3339) and legal_basis:<purpose>. Map other headers with\n" +
			"--map, e.g. --map first_name=Vorname --map 'consent:e_marketing=Einwilligung Newsletter'.\n" +
			"Rows that break a rule are written with their line number and the reason to the rejects file;\n" +
			"the rest is imported. Ctrl-C rolls the whole import back.",
		DisableSliceFlagSeparator: true,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "map", Usage: "target=Header: read the target field from the column Header (repeat)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "check every row (duplicates included), report, then roll back"},
			&cli.StringFlag{Name: "on-duplicate", Value: importer.OnDuplicateSkip, Usage: "a row whose e-mail address exists already: skip (reject it) or update (record its consents for that person)"},
			&cli.StringFlag{Name: "rejects", Usage: "where to write rejected rows (default: FILE.rejects.csv; only created when rows are rejected)"},
			&cli.StringFlag{Name: "delimiter", Usage: "field delimiter: , ; or tab (default: detected from the header line)"},
			&cli.BoolFlag{Name: "no-progress", Usage: "do not show the progress bar"},
			&cli.BoolFlag{Name: "json", Usage: "print the report (column mapping included) as JSON"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() != 1 {
				return fmt.Errorf("name one CSV file to import")
			}
			name := cmd.Args().First()
			opts := importer.Options{DryRun: cmd.Bool("dry-run"), OnDuplicate: cmd.String("on-duplicate")}
			if opts.OnDuplicate != importer.OnDuplicateSkip && opts.OnDuplicate != importer.OnDuplicateUpdate {
				return fmt.Errorf("--on-duplicate must be skip or update")
			}
			var err error
			if opts.Mapping, err = parseMapping(cmd.StringSlice("map")); err != nil {
				return err
			}
			if opts.Delimiter, err = parseDelimiter(cmd.String("delimiter")); err != nil {
				return err
			}
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
			rejectsName := cmd.String("rejects")
			if rejectsName == "" {
				rejectsName = strings.TrimSuffix(name, filepath.Ext(name)) + ".rejects.csv"
			}
			if abs1, _ := filepath.Abs(rejectsName); abs1 != "" {
				if abs2, _ := filepath.Abs(name); abs1 == abs2 {
					return fmt.Errorf("the rejects file would overwrite the input")
				}
			}
			rejects := &lazyFile{name: rejectsName}
			defer rejects.Close()
			opts.Rejects = rejects
			base := filepath.Base(name)
			opts.Reason = "CSV import of " + base
			opts.Evidence = "imported from " + base

			e, err := openEnv(ctx, cmd, true)
			if err != nil {
				return err
			}
			defer e.Close()

			errw := cmd.Root().ErrWriter
			out := cmd.Root().Writer
			if !cmd.Bool("no-progress") && isTerminal(errw) {
				bar := newBytesBar(st.Size(), "importing "+base, errw)
				opts.Progress = func(_, n int64) {
					bar.Set64(n)
					if n >= st.Size() {
						bar.Describe("committing " + base)
					}
				}
				defer bar.Exit()
			}
			defer importGC()()
			rep, err := importer.Run(ctx, e.ledger, f, opts)
			if cerr := rejects.Close(); cerr != nil && err == nil {
				err = cerr
			}
			if opts.Progress != nil {
				fmt.Fprintln(errw)
			}
			if rep.Interrupted && rejects.created {
				os.Remove(rejectsName)
				rejects.created = false
			}
			if cmd.Bool("json") {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if jerr := enc.Encode(rep); jerr != nil && err == nil {
					err = jerr
				}
			} else {
				printImportReport(out, rep, rejects)
			}
			if err != nil {
				if errors.Is(err, importer.ErrInterrupted) {
					return cli.Exit("import interrupted (Ctrl-C): rolled back, the database is unchanged", 130)
				}
				if rep.RolledBack && rep.RowsRead > 0 {
					return fmt.Errorf("import failed and was rolled back, nothing was imported: %w", describe(err))
				}
				return describe(err)
			}
			return nil
		},
	}
}

func printImportReport(w io.Writer, rep importer.Report, rejects *lazyFile) {
	counts := fmt.Sprintf("%d rows read, %d persons created, %d updated, %d consent events, %d organisations created, %d rejected",
		rep.RowsRead, rep.Created, rep.Updated, rep.ConsentEvents, rep.Organisations, rep.Rejected)
	switch {
	case rep.DryRun && rep.RolledBack && !rep.Interrupted:
		fmt.Fprintf(w, "dry run, nothing written; the import would make: %s\n", counts)
	case rep.RolledBack:
		fmt.Fprintf(w, "rolled back, nothing written; up to then: %s\n", counts)
	default:
		fmt.Fprintf(w, "imported: %s\n", counts)
	}
	if rep.Unchanged > 0 {
		fmt.Fprintf(w, "%d duplicate rows had no consent to record\n", rep.Unchanged)
	}
	fmt.Fprintf(w, "took %s (%.0f rows/s)\n", rep.Duration.Round(time.Millisecond), rep.RowsPerSecond())
	if rep.Rejected > 0 {
		var codes []string
		for c, n := range rep.RejectReasons {
			codes = append(codes, fmt.Sprintf("%s %d", c, n))
		}
		sort.Strings(codes)
		where := ""
		if rejects.created {
			where = "; see " + rejects.name
		}
		fmt.Fprintf(w, "rejected rows: %s%s\n", strings.Join(codes, ", "), where)
	}
	if rep.DryRun && len(rep.Mapping) > 0 {
		printMapping(w, rep.Mapping)
	} else if len(rep.Ignored) > 0 {
		fmt.Fprintf(w, "ignored columns: %s\n", strings.Join(rep.Ignored, ", "))
	}
}

// printMapping shows which column went into which field, and which were
// ignored, one column a line in the file's order.
func printMapping(w io.Writer, m []importer.ColumnMapping) {
	fmt.Fprintln(w, "columns:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range m {
		field := "(ignored)"
		if c.Field != "" {
			field = c.Field
			if note := map[string]string{"map": "(--map)", "alias": "(usual name)"}[c.By]; note != "" {
				field += "\t" + note
			}
		}
		fmt.Fprintf(tw, "  %d. %q\t→ %s\n", c.Position, c.Column, field)
	}
	tw.Flush()
}

// parseMapping reads --map target=Header values.
func parseMapping(values []string) (map[string]string, error) {
	m := map[string]string{}
	for _, v := range values {
		target, hdr, ok := strings.Cut(v, "=")
		target, hdr = strings.TrimSpace(target), strings.TrimSpace(hdr)
		if !ok || target == "" || hdr == "" {
			return nil, fmt.Errorf("--map %q: write target=Header, e.g. --map first_name=Vorname", v)
		}
		if _, dup := m[target]; dup {
			return nil, fmt.Errorf("--map: %s is mapped twice", target)
		}
		m[target] = hdr
	}
	return m, nil
}

func parseDelimiter(s string) (rune, error) {
	switch s {
	case "":
		return 0, nil
	case ",", ";", "|":
		return rune(s[0]), nil
	case "\t", `\t`, "tab", "TAB":
		return '\t', nil
	}
	return 0, fmt.Errorf("--delimiter must be , ; | or tab")
}

// importGC collects garbage more often during an import (unless GOGC is
// set): the heap stays smaller, leaving room for SQLite's page cache, and
// the collector runs on the core the database does not keep busy.
func importGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(50)
	return func() { debug.SetGCPercent(old) }
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newBytesBar(size int64, desc string, w io.Writer) *progressbar.ProgressBar {
	return progressbar.NewOptions64(size,
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWriter(w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetRenderBlankState(true),
	)
}

// lazyFile is created on the first write.
type lazyFile struct {
	name    string
	f       *os.File
	created bool
	closed  bool
	err     error
}

func (l *lazyFile) Write(p []byte) (int, error) {
	if l.closed {
		return 0, os.ErrClosed
	}
	if l.f == nil && l.err == nil {
		l.f, l.err = os.Create(l.name)
		l.created = l.err == nil
	}
	if l.err != nil {
		return 0, l.err
	}
	return l.f.Write(p)
}

func (l *lazyFile) Close() error {
	l.closed = true
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
