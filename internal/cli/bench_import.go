package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/importer"
)

func benchImportCommand() *cli.Command {
	return &cli.Command{
		Name:  "import",
		Usage: "generate a CSV of N persons with 2 consents each, import it into the configured database and verify the audit chain",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "rows", Value: 100000, Usage: "number of persons to generate"},
			&cli.BoolFlag{Name: "force", Usage: "import even into a database that holds persons already"},
			&cli.BoolFlag{Name: "no-progress", Usage: "do not show the progress bar"},
			&cli.StringFlag{Name: "keep-csv", Usage: "write the generated CSV to this file (kept) instead of a temporary one"},
			profileFlag,
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			n := cmd.Int("rows")
			if n <= 0 {
				return fmt.Errorf("--rows must be positive")
			}
			e, err := openEnv(ctx, cmd, true)
			if err != nil {
				return err
			}
			defer e.Close()
			out, errw := cmd.Root().Writer, cmd.Root().ErrWriter
			var persons int64
			if err := e.db.QueryRow(ctx, `SELECT COUNT(*) FROM persons`).Scan(&persons); err != nil {
				return err
			}
			if persons > 0 && !cmd.Bool("force") {
				return fmt.Errorf("the database (%s) holds %d persons already: benchmark on an empty one, or pass --force", e.cfg.Redacted(), persons)
			}

			dir, err := os.MkdirTemp("", "consento-bench-import-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			csvPath := filepath.Join(dir, "persons.csv")
			if keep := cmd.String("keep-csv"); keep != "" {
				csvPath = keep
			}
			start := time.Now()
			size, err := writeBenchCSV(csvPath, int64(n), time.Now().UnixNano())
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "generated %d persons × 2 consents (%.1f MB) in %s\n", n, float64(size)/1e6, time.Since(start).Round(time.Millisecond))

			f, err := os.Open(csvPath)
			if err != nil {
				return err
			}
			defer f.Close()
			rejects := &lazyFile{name: filepath.Join(dir, "rejects.csv")}
			defer rejects.Close()
			opts := importer.Options{Rejects: rejects, Reason: "bench import", Evidence: "bench import"}
			if !cmd.Bool("no-progress") && isTerminal(errw) {
				bar := newBytesBar(size, "importing", errw)
				opts.Progress = func(_, b int64) { bar.Set64(b) }
				defer bar.Exit()
			}
			runtime.GC()
			defer importGC()()
			stop, err := startProfile(cmd)
			if err != nil {
				return err
			}
			rep, err := importer.Run(ctx, e.ledger, f, opts)
			stop()
			if opts.Progress != nil {
				fmt.Fprintln(errw)
			}
			if err != nil {
				if errors.Is(err, importer.ErrInterrupted) {
					return cli.Exit("benchmark interrupted: the import was rolled back", 130)
				}
				return describe(err)
			}
			fmt.Fprintf(out, "import (%s): %d rows, %d persons, %d consent events, %d rejected in %s: %.0f rows/s\n",
				e.db.Dialect, rep.RowsRead, rep.Created, rep.ConsentEvents, rep.Rejected, rep.Duration.Round(time.Millisecond), rep.RowsPerSecond())
			fmt.Fprintf(out, "peak RSS so far: %.0f MB\n", float64(maxRSS())/(1<<20))

			vrep, err := audit.Verify(ctx, e.db)
			if err != nil {
				return err
			}
			if !vrep.OK {
				return cli.Exit(fmt.Sprintf("audit verify: BROKEN at event %d: %s", vrep.FirstBad, vrep.Problem), 2)
			}
			fmt.Fprintf(out, "audit verify: OK, %d events in %s\n", vrep.Events, vrep.Elapsed)
			fmt.Fprintf(out, "peak RSS: %.0f MB\n", float64(maxRSS())/(1<<20))
			return nil
		},
	}
}

// maxRSS is the process's peak resident set size in bytes.
func maxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss) * 1024 // kilobytes on Linux
}

var (
	benchFirst  = []string{"Anna", "Ben", "Carla", "Dieter", "Eva", "Finn", "Greta", "Hans", "Ida", "Jonas", "Karin", "Lars", "Mette", "Niels", "Olga", "Paul", "Rasmus", "Sofie", "Tobias", "Ulla"}
	benchLast   = []string{"Berg", "Christensen", "Fischer", "Hansen", "Jensen", "Koch", "Larsen", "Meyer", "Nielsen", "Pedersen", "Richter", "Schmidt", "Schneider", "Sørensen", "Wagner", "Weber"}
	benchCity   = []string{"Berlin\t10115\tDE\tde", "Hamburg\t20095\tDE\tde", "München\t80331\tDE\tde", "København\t1050\tDK\tda", "Aarhus\t8000\tDK\tda", "London\tEC1A 1BB\tGB\ten"}
	benchStates = []string{"granted", "granted", "granted", "withdrawn", "refused", "pending"}
	benchDomain = []string{"example.com", "example.org", "example.net", "example.de", "example.dk", "mail.example", "firma.example"}
	benchSource = []string{"web_form", "business_card", "event", "import", "phone"}
)

// writeBenchCSV writes n persons with two consents each (tab-separated,
// default headers) and returns the file size.
func writeBenchCSV(path string, n, seed int64) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := generateBenchCSV(w, n, seed); err != nil {
		f.Close()
		return 0, err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	return st.Size(), f.Close()
}

func generateBenchCSV(w io.Writer, n, seed int64) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("first_name\tlast_name\temail\tphone\tstreet\tcity\tpostal_code\tcountry\tlanguage\torganisation\tsource\t" +
		"consent:e_marketing\tconsent_date:e_marketing\tconsent:sales_service\tconsent_date:sales_service\n")
	x := uint64(seed) | 1
	rnd := func(k int) int { // xorshift: fast and good enough for test data
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return int(x % uint64(k))
	}
	tag := strconv.FormatInt(seed%100000, 36)
	var buf []byte
	for i := int64(1); i <= n; i++ {
		first, last := benchFirst[rnd(len(benchFirst))], benchLast[rnd(len(benchLast))]
		buf = append(buf[:0], first...)
		buf = append(buf, '\t')
		buf = append(buf, last...)
		buf = append(buf, '\t')
		// first.last<i>.<tag>@domain: inserted all over the e-mail index,
		// as a CRM's addresses are.
		buf = appendLower(buf, first)
		buf = append(buf, '.')
		buf = appendLower(buf, last)
		buf = strconv.AppendInt(buf, i, 10)
		buf = append(buf, '.')
		buf = append(buf, tag...)
		buf = append(buf, '@')
		buf = append(buf, benchDomain[rnd(len(benchDomain))]...)
		buf = append(buf, "\t+49 30 "...)
		buf = strconv.AppendInt(buf, 1000000+int64(rnd(9000000)), 10)
		buf = append(buf, "\tHauptstraße "...)
		buf = strconv.AppendInt(buf, int64(1+rnd(200)), 10)
		buf = append(buf, '\t')
		buf = append(buf, benchCity[rnd(len(benchCity))]...)
		buf = append(buf, '\t')
		if rnd(10) == 0 {
			buf = append(buf, "Firma "...)
			buf = strconv.AppendInt(buf, int64(rnd(1000)), 10)
		}
		buf = append(buf, '\t')
		buf = append(buf, benchSource[rnd(len(benchSource))]...)
		buf = append(buf, '\t')
		buf = append(buf, benchStates[rnd(len(benchStates))]...)
		buf = append(buf, "\t20"...)
		buf = strconv.AppendInt(buf, int64(20+rnd(6)), 10)
		buf = append(buf, '-', '0', byte('1'+rnd(9)), '-', byte('1'+rnd(2)), byte('0'+rnd(8)))
		buf = append(buf, "\tgranted\t2019-0"...)
		buf = append(buf, byte('1'+rnd(9)), '-', '1', byte('0'+rnd(9)), '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func appendLower(b []byte, s string) []byte {
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			b = append(b, byte(r+'a'-'A'))
		case r < 0x80:
			b = append(b, byte(r))
		case r == 'ø':
			b = append(b, 'o', 'e')
		}
	}
	return b
}
