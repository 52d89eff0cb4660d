package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/ledger"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "bulk consent check of a CSV of e-mail addresses or person ids (first column)",
		ArgsUsage: "FILE.csv (- for standard input)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "purpose", Required: true, Usage: "purpose key, e.g. e_marketing"},
			&cli.StringFlag{Name: "out", Value: "-", Usage: "where to write the verdicts as CSV (- for standard output)"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Len() != 1 {
				return fmt.Errorf("name one input file (or - for standard input)")
			}
			e, err := openEnv(ctx, cmd, false)
			if err != nil {
				return err
			}
			defer e.Close()
			var in io.Reader = os.Stdin
			size := int64(0)
			if name := cmd.Args().First(); name != "-" {
				f, err := os.Open(name)
				if err != nil {
					return err
				}
				defer f.Close()
				if st, err := f.Stat(); err == nil {
					size = st.Size()
				}
				in = f
			}
			var out io.Writer = cmd.Root().Writer
			var outFile *os.File
			if name := cmd.String("out"); name != "-" {
				if outFile, err = os.Create(name); err != nil {
					return err
				}
				defer outFile.Close()
				out = outFile
			}
			bw := bufio.NewWriterSize(out, 256<<10)
			w := csv.NewWriter(bw)
			w.Write([]string{"ref", "person_id", "allowed", "reason"})
			next := ledger.CSVRefs(bufio.NewReaderSize(in, 256<<10))
			sum, err := e.ledger.Check(ctx, cmd.String("purpose"), ledger.RefsInBytes(size), next, func(v ledger.Verdict) error {
				pid := ""
				if v.PersonID != 0 {
					pid = strconv.FormatInt(v.PersonID, 10)
				}
				return w.Write([]string{v.Ref, pid, strconv.FormatBool(v.Allowed), v.Reason})
			})
			if err != nil {
				return describe(err)
			}
			w.Flush()
			if err := bw.Flush(); err != nil {
				return err
			}
			if outFile != nil {
				if err := outFile.Close(); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.Root().ErrWriter, "%s: %d checked, %d allowed, %d denied %v\n", sum.Purpose, sum.Total, sum.Allowed, sum.Denied, sum.Reasons)
			return nil
		},
	}
}
